"""The admin requires a second factor: staff sign in with a password and a code from their authenticator
app (or a recovery code), and a session without one is refused as if it were not staff (django-otp)."""

import re
from typing import Any

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.admin_lists import bounded_admin
from dcr_project.sign_in import SignInView, SignOutView

TOTP_CODE = re.compile(r"\d{6}")


def staff_device_for_code(user: User, code: str) -> Device | None:
    """The one device a code is for: six digits are the authenticator app's, anything else a recovery code.
    One device, not each in turn, so that a wrong code counts against only that device's throttle."""
    model = TOTPDevice if TOTP_CODE.fullmatch(code.strip()) else StaticDevice
    return model.objects.filter(user=user, confirmed=True).first()


class StaffAuthenticationForm(OTPAdminAuthenticationForm):
    """Username, password and code in one step: the device follows from the code (no device list)."""

    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "token_required": "Enter the code from your authenticator app, or a recovery code.",
        "device_required": "This account has no authenticator app yet: sign in on the dashboard to set one up.",
        "invalid_token": "That code is not valid. Check your authenticator app and try again.",
    }

    def _chosen_device(self, user: User) -> Device | None:
        return staff_device_for_code(user, self.cleaned_data.get("otp_token") or "")


class StaffAdminSite(OTPAdminSite):
    login_form = StaffAuthenticationForm
    login_template = "admin/login_two_factor.html"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[Any]:
        """The index's model names through the project's catalogue: django-otp names its devices in plain
        strings ("TOTP devices", "Static devices"), which locale/fr translates; names already translated
        come back unchanged."""
        apps = super().get_app_list(request, app_label)
        for app in apps:
            for model in app["models"]:
                model["name"] = gettext(str(model["name"]))
        return apps

    def get_urls(self) -> list[URLPattern | URLResolver]:
        # Built once every app has registered its admins: the third-party ones (users, groups, lock-outs,
        # authenticator apps) get the guards of ours against hostile list parameters (core.admin_lists).
        for model_admin in self._registry.values():
            bounded_admin(model_admin)
        return super().get_urls()

    # Django's AdminSite.login and .logout, with the sign-in views that read `next` through
    # core.next_path (a path of this site, else the admin's index or the signed-out page).
    @method_decorator(never_cache)
    @login_not_required
    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponseBase:
        index = reverse("admin:index", current_app=self.name)
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(index)
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = index
        context.update(extra_context or {})
        request.current_app = self.name
        view = SignInView.as_view(
            extra_context=context,
            authentication_form=self.login_form,
            template_name=self.login_template,
            next_page=index,
        )
        return view(request)

    def logout(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponseBase:
        # The user is still signed in while the page renders: has_permission says what it will be.
        context = {**self.each_context(request), "has_permission": False, **(extra_context or {})}
        request.current_app = self.name
        return SignOutView.as_view(extra_context=context)(request)


# The admin site object stays the one every ModelAdmin registered with (registered_apps.admin and the
# third-party apps); only its class changes, so its views now check the second factor.
admin.site.__class__ = StaffAdminSite
