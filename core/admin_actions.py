"""What every app's admin shares beyond the change list: who acts, and the "revoke with a reason" action
(an intermediate page asks for the reason, then a service revokes each selected object)."""

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import User
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from .request_ip import request_ip


def admin_actor(request: HttpRequest) -> User | str:
    """The actor a service records for an admin request: the signed-in user. The admin lets no one
    else in; should a request without a user ever get here, it is recorded as "admin", never as an
    event with no actor at all."""
    user = request.user
    return user if isinstance(user, User) else "admin"


class RevokeReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), max_length=2000)


class RevokeWithReasonMixin(admin.ModelAdmin):
    """The one "revoke with a reason" flow. An admin sets the four attributes, defines `revoke_one` (a
    call to its service) and an action that passes the still-revocable objects to `revoke_with_reason`.
    The page is `revoke_template`, a child of templates/admin/revoke_with_reason.html."""

    revoke_done: Any  # ngettext_lazy("Revoked %(count)s client.", "Revoked %(count)s clients.", "count")
    revoke_title: Any  # a str or a lazy translation
    revoke_template: str
    revoke_reason_help: Any = ""  # a str or a lazy translation

    def revoke_one(self, obj: Any, *, reason: str, actor: User | str, ip_address: str | None) -> object:
        raise NotImplementedError

    def revoke_with_reason(
        self, request: HttpRequest, objects: Sequence[Any], *, action: str, none_message: Any
    ) -> TemplateResponse | None:
        if not objects:
            self.message_user(request, none_message, messages.WARNING)
            return None
        form = RevokeReasonForm(request.POST if "confirm" in request.POST else None)
        form.fields["reason"].help_text = self.revoke_reason_help
        if form.is_bound and form.is_valid():
            for obj in objects:
                self.revoke_one(
                    obj, reason=form.cleaned_data["reason"], actor=admin_actor(request), ip_address=request_ip(request)
                )
            self.message_user(request, self.revoke_done % {"count": len(objects)}, messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": self.revoke_title,
            "subtitle": None,
            "opts": self.model._meta,
            "objects": objects,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": action,
            "media": self.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.revoke_template, context)
