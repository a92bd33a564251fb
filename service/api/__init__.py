"""HTTP API blueprints, and what they share: how ids look in paths and queries."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC
from typing import Any

import flask_smorest
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate
from webargs.flaskparser import FlaskParser
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


class JsonParser(FlaskParser):
    """webargs' parser; JSON nested too deep or with a number too long to read is a 400.

    Python's json module raises RecursionError and ValueError for those, which webargs
    lets through as a 500.
    """

    def load_json(self, req: Any, schema: Schema) -> Any:
        try:
            return super().load_json(req, schema)
        except (RecursionError, ValueError) as error:
            return self._handle_invalid_json_error(error, req)  # type: ignore[arg-type]


class Blueprint(flask_smorest.Blueprint):
    """An API blueprint: flask-smorest's, reading JSON bodies with `JsonParser`."""

    ARGUMENTS_PARSER = JsonParser()


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
    """Base of every request schema: unknown fields and unstorable characters are refused (422).

    PostgreSQL text cannot hold NUL, and no name, note or title needs one. A lone UTF-16
    surrogate (JSON allows "\\ud800") cannot be encoded as UTF-8 for either database.
    """

    class Meta:
        unknown = RAISE

    @pre_load
    def refuse_unstorable(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, Mapping):
            bad = [str(key) for key, value in data.items() if contains_unstorable(key, value)]
            if bad:
                raise ValidationError({escaped(key): [UNSTORABLE_MESSAGE] for key in bad})
        return data


UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "不能包含 NUL 字符或不成对的代理字符"


def escaped(text: str) -> str:
    """`text` with unstorable characters as `\\uXXXX`, so that an error can name it."""
    return UNSTORABLE.sub(lambda match: f"\\u{ord(match[0]):04x}", text)


def contains_unstorable(*values: Any) -> bool:
    for value in values:
        if isinstance(value, str) and UNSTORABLE.search(value):
            return True
        if isinstance(value, Mapping) and contains_unstorable(*value.keys(), *value.values()):
            return True
        if isinstance(value, list | tuple) and contains_unstorable(*value):
            return True
    return False
