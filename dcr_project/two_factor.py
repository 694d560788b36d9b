"""The staff second factor in the browser: a staff session passes it before anything else (middleware),
on one page that asks for a code, or enrols an authenticator app for staff who have none yet."""

import base64
from collections.abc import Callable
from typing import cast
from urllib.parse import quote

import django_otp
import segno
from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.next_path import next_path
from dcr_project.admin_site import staff_device_for_code
from registered_apps.staff_two_factor import (
    staff_has_authenticator,
    staff_recovery_codes_issue,
    staff_totp_device_confirm,
    staff_totp_device_create,
)


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Authentication code",
        max_length=16,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}),
    )


def _qr_data_uri(uri: str) -> str:
    """The otpauth URI as an SVG QR code in a data: URI (the CSP allows data: images, never inline script)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#111827", light="#ffffff")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@never_cache
@sensitive_post_parameters("code")
@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Verify this staff session with a code, or enrol the account's first authenticator app."""
    user = cast(User, request.user)  # login_required
    next_url = next_path(request, reverse("registered_apps:home"))
    if not user.is_staff or user.is_verified():  # type: ignore[attr-defined]  # OTPMiddleware adds it
        return HttpResponseRedirect(next_url)
    if staff_has_authenticator(user):
        return _verify(request, user, next_url)
    return _enrol(request, user, next_url)


def _verify(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    form = CodeForm(request.POST or None)
    if form.is_valid():
        code = form.cleaned_data["code"]
        device = staff_device_for_code(user, code)
        if device is not None and django_otp.verify_token(user, device.persistent_id, code):
            django_otp.login(request, device)
            return HttpResponseRedirect(next_url)
        form.add_error("code", "That code is not valid. Check your authenticator app and try again.")
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": next_url})


def _enrol(request: HttpRequest, user: User, next_url: str) -> HttpResponse:
    # Reloading the page keeps the same key until it is confirmed; a new visit after that never enrols.
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or staff_totp_device_create(
        user=user, confirmed=False, actor=user
    )
    form = CodeForm(request.POST or None)
    if form.is_valid():
        if staff_totp_device_confirm(device=device, token=form.cleaned_data["code"], actor=user):
            django_otp.login(request, device)
            codes = staff_recovery_codes_issue(user=user, actor=user)
            return render(request, "registration/two_factor_recovery_codes.html", {"codes": codes, "next": next_url})
        form.add_error("code", "That code is not valid. Check the app's clock and type the code it shows now.")
    uri = device.config_url
    context = {
        "form": form,
        "next": next_url,
        "otpauth_uri": uri,
        "qr_code": _qr_data_uri(uri),
        "secret": _secret(device),
    }
    return render(request, "registration/two_factor_enrol.html", context)


def _secret(device: TOTPDevice) -> str:
    """The key as the base32 text an app accepts when typed in (grouped by four for reading)."""
    text = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


class StaffSecondFactorMiddleware:
    """A signed-in staff member whose session has not passed the second factor reaches only the
    second-factor page, sign-in (as someone else) and sign-out: the dashboard shows superusers every
    programmer, and the staff statement download issues statements. The admin is left to its own
    sign-in, which asks for a code."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        unverified_staff = user is not None and user.is_authenticated and user.is_staff and not user.is_verified()
        if unverified_staff and not self._exempt(request.path_info):
            page = reverse("two_factor")
            return HttpResponseRedirect(f"{page}?next={quote(request.get_full_path())}")
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        exempt = (
            reverse("two_factor"),
            reverse("login"),
            reverse("logout"),
            "/" + settings.ADMIN_URL,
            "/" + settings.STATIC_URL,
        )
        return path.startswith(exempt)
