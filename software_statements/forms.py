"""The statement download's one input: the lifetime. The form only parses; the rule and its message are
the service's (`services.statement_lifetime_check`)."""

from django import forms
from django.core.exceptions import ValidationError

from registered_apps.forms import STATEMENT_LIFETIME_NEVER

from .services import PROGRAMMER_DEFAULT, Lifetime, statement_lifetime_check

# What the download form posts: "none" (never expires) or a number of days; absent or empty means the
# programmer's default (the admin's download, scripts, and the original's form, which had no choice).
NEVER = STATEMENT_LIFETIME_NEVER


class StatementDownloadForm(forms.Form):
    lifetime = forms.CharField(required=False, strip=True)

    def clean_lifetime(self) -> Lifetime:
        value: str = self.cleaned_data.get("lifetime") or ""
        if not value:
            return PROGRAMMER_DEFAULT
        if value == NEVER:
            return None
        days = int(value) if value.isascii() and value.isdigit() and len(value) <= 4 else value
        try:
            return statement_lifetime_check(days)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["lifetime"], code="invalid_lifetime") from None
