"""A message written in the active language that remembers its English (the catalogue's msgid) and its
parameters: a service raises it like any text, and what keeps a message for later (a failed push,
`push_failures`) stores it language-neutral and writes it again in the reader's language (README
"Languages"). Mark the msgid with gettext_noop at the call, so that the catalogue check and makemessages
find it: `text(gettext_noop("%(name)s is taken."), name=name)`."""

from typing import Any

from django.utils.translation import gettext


class Text(str):
    """The translated text, with `msgid` and `params` kept."""

    msgid: str
    params: dict[str, Any]


def text(msgid: str, **params: Any) -> Text:
    translated = gettext(msgid)
    made = Text(translated % params if params else translated)
    made.msgid = msgid
    made.params = params
    return made
