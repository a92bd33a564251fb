"""Values the service generates once and every process must share (such as the session key)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class InstanceSetting(SQLModel, table=True):
    __tablename__ = "instance_setting"

    name: str = Field(primary_key=True, max_length=100)
    value: str = Field(max_length=2000)
