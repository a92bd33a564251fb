"""Plain HTML forms read through the API's marshmallow schemas, errors kept per field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError

from checklists.reading import DocumentError
from checklists.workflow import WorkflowError
from service.errors import Explanation, ServiceError, explain


@dataclass
class FormState:
    """What a page needs to show a form again: the input as typed and the errors by field."""

    values: Mapping[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None
    status: int = 200

    @property
    def failed(self) -> bool:
        return bool(self.errors or self.message)


def load(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    """`schema.load(data)`, with marshmallow's errors raised as field errors of the form."""
    try:
        return schema.load(data)
    except ValidationError as error:
        raise FormInvalid(messages(error.normalized_messages())) from None


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("form invalid")
        self.errors = errors


# Errors a person can fix by changing what they typed: shown on the form, input kept.
USER_ERRORS = (FormInvalid, ServiceError, WorkflowError, DocumentError)


def failed(values: Mapping[str, Any], error: Exception) -> FormState:
    """The form state after `error`: field errors where the error names fields."""
    if isinstance(error, FormInvalid):
        return FormState(values, error.errors, "请更正标出的内容", 422)
    explanation: Explanation = explain(error)
    errors = messages(explanation.field_errors)
    message = f"{explanation.title}：请更正标出的内容" if errors else explanation.detail
    return FormState(values, errors, message or explanation.title, explanation.status)


def messages(errors: Mapping[Any, Any]) -> dict[str, list[str]]:
    """Flatten nested marshmallow messages to field → list of texts."""
    flat: dict[str, list[str]] = {}
    for name, value in errors.items():
        if isinstance(value, Mapping):
            for inner, texts in messages(value).items():
                flat.setdefault(f"{name}.{inner}", []).extend(texts)
        elif isinstance(value, list | tuple):
            flat.setdefault(str(name), []).extend(str(v) for v in value)
        else:
            flat.setdefault(str(name), []).append(str(value))
    return flat
