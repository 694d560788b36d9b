"""A service's ValidationError shown where the person reads it: next to the form field it names, or as
one line from a management command. Services decide what is valid; forms, admins and commands only
translate (one function each, used by every app)."""

from collections.abc import Iterator, Mapping

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def validation_error_fields(error: ValidationError) -> Iterator[tuple[str | None, list[str]]]:
    """The error's messages by the field they name; None for those about the whole input."""
    if not hasattr(error, "error_dict"):
        yield None, list(error.messages)
        return
    for field, messages in error.message_dict.items():
        yield (None if field == NON_FIELD_ERRORS else field), messages


def form_add_service_error(
    form: forms.BaseForm, error: ValidationError, *, aliases: Mapping[str, str] | None = None
) -> None:
    """Each message on the form field it names (or on the field `aliases` maps a name the form does not
    have to), else above the form."""
    for field, messages in validation_error_fields(error):
        if field is not None and field not in form.fields:
            field = (aliases or {}).get(field, field)
        form.add_error(field if field in form.fields else None, messages)


def validation_error_line(error: ValidationError) -> str:
    """The error as one line: "field: message; field: message"."""
    parts = [
        f"{field}: {message}" if field is not None else message
        for field, messages in validation_error_fields(error)
        for message in messages
    ]
    return " ".join("; ".join(parts).split())
