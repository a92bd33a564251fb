"""Plain HTML forms read through the API's marshmallow schemas, errors kept per field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from flask import request
from marshmallow import Schema, ValidationError

from checklists.reading import DocumentError
from checklists.workflow import WorkflowError
from service.errors import Explanation, InvalidInput, ServiceError, explain


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


class FormInvalid(InvalidInput):
    """A form's fields failed their schema: a 422 wherever it is raised."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("请更正标出的内容", errors)


# Errors a person can fix by changing what they typed: shown on the form, input kept.
USER_ERRORS = (FormInvalid, ServiceError, WorkflowError, DocumentError)


F = TypeVar("F", bound=Callable[..., Any])


def shows_errors_on(render: Callable[..., str]) -> Callable[[F], F]:
    """For views that change something: a person's mistake re-renders the page they came from.

    `render(form_state, **view_arguments)` draws that page with the errors next to their
    fields and the input as typed; the response carries the error's status.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return view(*args, **kwargs)
            except USER_ERRORS as error:
                state = failed(request.form.to_dict(), error)
                return render(state, **kwargs), state.status

        return guarded  # type: ignore[return-value]

    return decorate


def failed(values: Mapping[str, Any], error: Exception) -> FormState:
    """The form state after `error`: field errors where the error names fields."""
    if isinstance(error, FormInvalid):
        return FormState(values, error.errors, "请更正标出的内容", 422)
    explanation: Explanation = explain(error)
    errors = messages(explanation.field_errors)
    message = f"{explanation.title}：请更正标出的内容" if errors else explanation.detail
    return FormState(values, errors, message or explanation.title, explanation.status)


# marshmallow's built-in messages, as a person filling in a Chinese form reads them.
GENERIC_MESSAGES = {
    "Missing data for required field.": "必填",
    "Field may not be null.": "必填",
    "Unknown field.": "不认识的字段",
    "Not a valid integer.": "须为整数",
    "Not a valid number.": "须为数字",
    "Not a valid date.": "须为日期（年-月-日）",
    "Not a valid datetime.": "须为日期和时间",
    "Not a valid string.": "须为文字",
    "Not a valid boolean.": "须为是或否",
    "Not a valid URL.": "不是有效的网址",
    "Not a valid list.": "须为列表",
    "Invalid input type.": "格式不对",
}


def messages(errors: Mapping[Any, Any]) -> dict[str, list[str]]:
    """Flatten nested marshmallow messages to field → list of texts, in Chinese."""
    flat: dict[str, list[str]] = {}
    for name, value in errors.items():
        if isinstance(value, Mapping):
            for inner, texts in messages(value).items():
                flat.setdefault(f"{name}.{inner}", []).extend(texts)
        elif isinstance(value, list | tuple):
            flat.setdefault(str(name), []).extend(chinese(str(v)) for v in value)
        else:
            flat.setdefault(str(name), []).append(chinese(str(value)))
    return flat


def chinese(message: str) -> str:
    if message in GENERIC_MESSAGES:
        return GENERIC_MESSAGES[message]
    if message.startswith("Must be one of:"):
        return "不是可选的值"
    if message.startswith(("Length must be", "Longer than", "Shorter than")):
        return "长度不符合要求"
    if message.startswith(("Must be greater", "Must be less")):
        return "超出允许的范围"
    return message
