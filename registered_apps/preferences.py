"""A person's language and time zone (README "Languages"): kept on the account, applied to every page.

The language of a page is the account's choice, else the language cookie (the menu at the foot of every
page sets it, signed in or not: the sign-in, lock-out, password-reset and second-factor pages too), else
the browser's Accept-Language, else English. The time zone is the account's (default UTC). The JSON API's
paths do not run this middleware (settings.API_MIDDLEWARE, the lane): their answers stay in English.
"""

import zoneinfo
from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_logged_in
from django.db import models
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core import process_state
from core.next_path import next_path

DEFAULT_TIME_ZONE = "UTC"
SESSION_KEY = "account_preferences"
# The JSON API's paths (oauth.middleware.API_PREFIXES; this layer cannot import it): never translated, even
# where they do run the pages' chain (Django's test client; a deployment without the API's own handler).
API_PREFIXES = ("/o/", "/api/", "/.well-known/")


class AccountPreferences(models.Model):
    """One account's language ("" = the browser's) and time zone."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="preferences"
    )
    language = models.CharField(max_length=8, blank=True, default="")
    time_zone = models.CharField(max_length=64, default=DEFAULT_TIME_ZONE)

    class Meta:
        verbose_name = _("account preferences")
        verbose_name_plural = _("account preferences")
        app_label = "registered_apps"

    def __str__(self) -> str:
        return f"{self.language or 'browser'} / {self.time_zone}"


@process_state.memoized("time-zone-names", maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    """The IANA names a person may choose (the system's or the tzdata package's database)."""
    return tuple(sorted(zoneinfo.available_timezones() - {"Factory", "localtime"}))


def language_codes() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


class AccountLocaleMiddleware:
    """Activates the page's language and the account's time zone; says which language it answered in."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIXES):
            return self.get_response(request)
        language, time_zone = "", DEFAULT_TIME_ZONE
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language, time_zone = _account_preferences(request, user.pk)
        if language not in language_codes():
            language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()  # type: ignore[attr-defined]
        try:
            timezone.activate(zoneinfo.ZoneInfo(time_zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.activate(zoneinfo.ZoneInfo(DEFAULT_TIME_ZONE))
        try:
            response = self.get_response(request)
        finally:
            timezone.deactivate()
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)  # type: ignore[attr-defined]
        translation.deactivate()
        return response


def _account_preferences(request: HttpRequest, user_pk: Any) -> tuple[str, str]:
    """The signed-in account's (language, time zone), read once per session and kept in it: a signed-in
    page costs no query for them. A change made in another session applies here at the next sign-in."""
    kept = request.session.get(SESSION_KEY)
    if isinstance(kept, list) and len(kept) == 2:
        return str(kept[0]), str(kept[1])
    row = AccountPreferences.objects.filter(user_id=user_pk).values_list("language", "time_zone").first()
    language, time_zone = row if row is not None else ("", DEFAULT_TIME_ZONE)
    request.session[SESSION_KEY] = [language, time_zone]
    return language, time_zone


@receiver(user_logged_in, dispatch_uid="account_preferences_to_session")
def _preferences_at_sign_in(sender: object, request: HttpRequest | None, user: object, **kwargs: object) -> None:
    """Read the account's preferences at sign-in, into the new session: its pages then read no row."""
    if request is not None and hasattr(request, "session"):
        request.session.pop(SESSION_KEY, None)
        _account_preferences(request, getattr(user, "pk", None))


def _save(request: HttpRequest, **values: str) -> None:
    """Store on the account, and in this session (which read them once)."""
    row, _created = AccountPreferences.objects.update_or_create(user_id=request.user.pk, defaults=values)
    request.session[SESSION_KEY] = [row.language, row.time_zone]


def _remember_language(request: HttpRequest, response: HttpResponse, language: str) -> None:
    """The cookie, so that the pages of a signed-out browser (sign-in, password reset) keep the choice."""
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=request.is_secure(),
            httponly=True,
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)


@require_POST
def language_choose(request: HttpRequest) -> HttpResponse:
    """The language menu: remembered on the account when signed in, in a cookie in every case."""
    language = request.POST.get("language", "")
    if language not in language_codes():
        language = ""
    if request.user.is_authenticated:
        _save(request, language=language)
    response = HttpResponseRedirect(next_path(request, reverse("registered_apps:home")))
    _remember_language(request, response, language)
    return response


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), required=False)
    time_zone = forms.ChoiceField(label=_("Time zone"))

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        language_field = self.fields["language"]
        assert isinstance(language_field, forms.ChoiceField)
        language_field.choices = [("", _("The browser's language")), *settings.LANGUAGES]
        zone_field = self.fields["time_zone"]
        assert isinstance(zone_field, forms.ChoiceField)
        zone_field.choices = [(name, name) for name in time_zone_names()]


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    """The account's language and time zone."""
    current = AccountPreferences.objects.filter(user_id=cast(Any, request.user.pk)).first()
    initial = {"language": current.language if current else "", "time_zone": current.time_zone if current else "UTC"}
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        _save(request, language=language, time_zone=form.cleaned_data["time_zone"])
        translation.activate(language or translation.get_language_from_request(request))
        messages.success(request, _("Your preferences are saved."))
        response = HttpResponseRedirect(reverse("registered_apps:preferences"))
        _remember_language(request, response, language)
        return response
    return render(request, "registered_apps/preferences.html", {"form": form})
