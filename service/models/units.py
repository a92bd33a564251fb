"""The unit directory: one row per real agency, with the other names it goes by."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from service.models.types import UTCDateTime


class Unit(SQLModel, table=True):
    """A responsible unit (单位). Groups such as "各市县政府" are units flagged `is_group`."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    name_key: str = Field(max_length=200, unique=True)
    is_group: bool = False
    # Units created by an import are unconfirmed until a supervisor checks them.
    confirmed: bool = True
    merged_into_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class UnitAlias(SQLModel, table=True):
    """Another name of a unit (`区工信局` for `区工业和信息化局`)."""

    __tablename__ = "unit_alias"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    name: str = Field(max_length=200)
    name_key: str = Field(max_length=200, unique=True)
