"""Response schemas more than one blueprint returns."""

from __future__ import annotations

from marshmallow import Schema, fields


class TargetSchema(Schema):
    """A numeric target of a measure ("不少于150个" → value 150, unit 个, comparator >=)."""

    id = fields.Integer()
    text = fields.String()
    value = fields.Float()
    unit = fields.String()
    comparator = fields.String()


class MeasureBaseSchema(Schema):
    """A measure as extracted: its place in the outline, text, deadline and recurrence."""

    id = fields.Integer()
    ref = fields.String()
    title = fields.String()
    text = fields.String()
    deadline = fields.Date(allow_none=True)
    deadline_source = fields.String(allow_none=True)
    recurrence = fields.String(allow_none=True)
    joint = fields.Boolean()
