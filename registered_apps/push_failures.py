"""A failed push's message (README "Dashboard", "Languages"): `Push.failure` keeps it language-neutral, as
JSON naming what failed (a code and its parameters, each reason as its English message and parameters),
and the pages write it in the reader's language when they show it (`failure_text`); the CSV export and
the audit event's details take its English. A push that failed before failures were kept this way holds
its English text, shown as it is."""

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_noop

from .change_descriptions import change_summary
from .texts import Text

FAILURE_CHANGE = "change"
FAILURE_MEANWHILE = "meanwhile"
FAILURE_UNEXPECTED = "unexpected"

REASON_DATABASE = gettext_noop("the database refused it; try again.")
# What `change_summary` reads of a change's payload (the rest of the payload is not kept twice).
SUMMARY_KEYS = ("name", "version", "slug", "host", "scheme", "channel")


def _plain(value: Any) -> Any:
    """A parameter as JSON keeps it: a number as it is, a marked message as its msgid (written again in
    the reader's language), anything else as its text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, Promise):
        return {"message": str(value)}
    return str(value)


def _reason(message: Any, params: Any) -> dict[str, Any]:
    if isinstance(message, Text):
        message, params = message.msgid, message.params
    params = params if isinstance(params, dict) else {}
    return {"message": str(message), "params": {key: _plain(value) for key, value in params.items()}}


def reasons_of(error: ValidationError) -> list[dict[str, Any]]:
    """Each message of a ValidationError as its English message (the catalogue's msgid when it was marked:
    gettext_lazy, or `texts.text`) and its parameters, so that it can be written again in another language."""
    items = [e for errors in error.error_dict.values() for e in errors] if hasattr(error, "error_dict") else []
    with translation.override(None):
        return [_reason(item.message, item.params) for item in items or error.error_list]


def failure_encode(code: str, **params: Any) -> str:
    return json.dumps({"code": code, **params}, ensure_ascii=False, sort_keys=True)


def change_failure(position: int, count: int, kind: str, payload: dict[str, Any], reasons: list[dict[str, Any]]) -> str:
    """The stored failure of the push's change at `position` (of `count`), for `reasons`."""
    summary = {key: payload[key] for key in SUMMARY_KEYS if isinstance(payload.get(key), str)}
    return failure_encode(FAILURE_CHANGE, position=position, count=count, kind=kind, change=summary, reasons=reasons)


def _param_text(value: Any) -> Any:
    return gettext(str(value.get("message", ""))) if isinstance(value, dict) else value


def _reason_text(reason: Any) -> str:
    if not isinstance(reason, dict):
        return str(reason)
    message = gettext(str(reason.get("message", "")))
    params = reason.get("params")
    if not isinstance(params, dict) or not params:
        return message
    return message % {key: _param_text(value) for key, value in params.items()}


def failure_text(stored: str) -> str:
    """A push's failure in the active language (a failure kept as text before codes: that text)."""
    try:
        data = json.loads(stored)
    except ValueError:
        return stored
    code = data.get("code") if isinstance(data, dict) else None
    if code == FAILURE_MEANWHILE:
        return gettext("The pending changes were pushed or changed meanwhile; nothing was applied.")
    if code == FAILURE_UNEXPECTED:
        return gettext("The push stopped on an unexpected error; nothing was applied.")
    if code != FAILURE_CHANGE:
        return stored
    reason = " ".join(" ".join(_reason_text(r) for r in data.get("reasons") or []).split())
    change = data.get("change") if isinstance(data.get("change"), dict) else {}
    return gettext("Change %(position)s of %(count)s (%(change)s): %(reason)s") % {
        "position": data.get("position"),
        "count": data.get("count"),
        "change": change_summary(str(data.get("kind", "")), change),
        "reason": reason,
    }


def failure_text_english(stored: str) -> str:
    """The failure in English: the CSV export's and the audit event's (README "Languages": for machines)."""
    with translation.override("en"):
        return failure_text(stored)
