"""What an error report (the 500 email, Django's technical page) may show of the settings and the request.

Django's filter already hides settings and headers whose names look secret (KEY, SECRET, TOKEN, PASS,
AUTH...), POST fields marked with `sensitive_post_parameters` and locals under `sensitive_variables`.
A URL's password hides in settings with innocent names (REDIS_URL, CACHES' LOCATION, CELERY_BROKER_URL),
so this filter also masks the password part of any URL it shows.
"""

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@host -> scheme://user:********@host
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@")


def url_passwords_masked(text: str) -> str:
    return _URL_PASSWORD.sub(lambda match: match["head"] + "********@", text)


class ReportFilter(SafeExceptionReporterFilter):
    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        return url_passwords_masked(cleansed) if isinstance(cleansed, str) else cleansed
