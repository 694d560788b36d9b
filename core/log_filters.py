"""Log filters the LOGGING setting attaches to Django's loggers (dcr_project/settings/base.py)."""

import logging


class ClientMistakeFilter(logging.Filter):
    """A record about a request the client got wrong, written as one WARNING line without a traceback.

    Django logs every SuspiciousOperation it answers with a 400 (a Host header not in ALLOWED_HOSTS, a
    `_to_field` the admin refuses, too many form fields) at ERROR with the exception's traceback: about
    2 KB, always the same frames, for a request anyone can send as often as they like. The message
    (which names the header or field, quoted by Django) is what an operator needs; the request's own
    line (core.request_log) follows with its status."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True
