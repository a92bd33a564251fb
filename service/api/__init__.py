"""HTTP API blueprints, and what they share: how ids look in paths and queries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate
from werkzeug.routing import IntegerConverter

# Row ids fit PostgreSQL's integer; anything larger is a 404/422, never a database error.
MAX_ID = 2**31 - 1
ID_RANGE = validate.Range(min=1, max=MAX_ID)


class IdConverter(IntegerConverter):
    """`<id:name>` in routes: a positive integer that fits an id column."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, min=1, max=MAX_ID)


def id_schema(_converter: Any) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": MAX_ID}


class Instant(fields.AwareDateTime):
    """An RFC 3339 moment, loaded in UTC; one that has no UTC equivalent is a 422.

    `0001-01-01T00:00:00+14:00` is valid RFC 3339 but lies before `datetime.min` in UTC.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise ValidationError("时间超出可表示的范围") from None


class InputSchema(Schema):
    """Base of every request schema: unknown fields and NUL characters are refused (422).

    PostgreSQL text cannot hold NUL, and no name, note or title needs one.
    """

    class Meta:
        unknown = RAISE

    @pre_load
    def refuse_nul(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, Mapping):
            bad = [str(key) for key, value in data.items() if contains_nul(key, value)]
            if bad:
                raise ValidationError({key: ["不能包含 NUL 字符"] for key in bad})
        return data


def contains_nul(*values: Any) -> bool:
    for value in values:
        if isinstance(value, str) and "\x00" in value:
            return True
        if isinstance(value, Mapping) and contains_nul(*value.keys(), *value.values()):
            return True
        if isinstance(value, list | tuple) and contains_nul(*value):
            return True
    return False
