"""The emails the registry sends (revocation requested, application revoked, password reset).

Each `*_email_send` function is what a task runs: it loads the rows by id, decides whether the email
is still due, renders the templates under `templates/emails/` and sends. Sending happens in a worker
(eagerly without REDIS_URL), after the transaction that caused it has committed.
"""

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.template import loader
from django.urls import NoReverseMatch, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import override

from core.conf import dcr
from core.window_limit import window_limit_key, window_limit_take

from .models import Access, AccountPreferences, ApplicationStatus, RegisteredApplication, RevocationRequest

logger = logging.getLogger(__name__)

# How long a "sent" marker keeps a re-delivered task from sending the same email again.
SENT_MARKER_SECONDS = 7 * 24 * 3600


def revocation_requested_recipients() -> list[str]:
    """The TAMs: `settings.TAM_EMAILS` and every active staff user with an email address."""
    staff = get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
    return _unique([*settings.TAM_EMAILS, *staff.values_list("email", flat=True)])


def application_revoked_recipients(application: RegisteredApplication) -> list[str]:
    """The programmer's read-write members (active users with an email address)."""
    members = application.programmer.memberships.filter(access=Access.READ_WRITE, user__is_active=True).exclude(
        user__email=""
    )
    return _unique(members.values_list("user__email", flat=True))


def revocation_requested_email_send(revocation_request_id: int) -> int:
    """Tell the TAMs about a pending revocation request; returns the number of emails sent (0 or 1)."""
    revocation_request = (
        RevocationRequest.objects.select_related("application__programmer", "requested_by")
        .filter(pk=revocation_request_id)
        .first()
    )
    if revocation_request is None or revocation_request.state != RevocationRequest.State.PENDING:
        return 0
    recipients = revocation_requested_recipients()
    if not recipients:
        logger.warning("revocation request %s: no TAM email address is configured", revocation_request_id)
        return 0
    application = revocation_request.application
    context = {
        "revocation_request": revocation_request,
        "application": application,
        "programmer": application.programmer,
        "requested_by": revocation_request.requested_by,
        "admin_url": _absolute("admin:registered_apps_revocationrequest_change", revocation_request.pk),
    }
    # One email per language of the recipients' accounts (English for an address with no account).
    by_language: dict[str, list[str]] = {}
    languages = _languages_of(recipients)
    for address in recipients:
        by_language.setdefault(languages.get(address.lower(), settings.LANGUAGE_CODE), []).append(address)
    sent = 0
    for language, addresses in sorted(by_language.items()):
        marker = f"revocation_requested:{revocation_request.pk}"
        if language != settings.LANGUAGE_CODE:
            marker += f":{language}"
        with override(language):
            sent += _send_once(marker, "emails/revocation_requested", context, addresses)
    return sent


def application_revoked_email_send(application_id: str, revoked_at: float) -> int:
    """Tell the programmer's read-write members that an application was revoked.

    `revoked_at` names the revocation: a later restore cancels the email, a second revocation
    sends a new one."""
    application = RegisteredApplication.objects.select_related("programmer").filter(pk=application_id).first()
    if (
        application is None
        or application.status != ApplicationStatus.REVOKED
        or application.revoked_at is None
        or abs(application.revoked_at.timestamp() - revoked_at) > 0.001
    ):
        return 0
    recipients = application_revoked_recipients(application)
    if not recipients:
        return 0
    context = {"application": application, "programmer": application.programmer}
    languages = _languages_of(recipients)
    # One email each, in the language of the member's account: members of one programmer need not see
    # each other's addresses.
    sent = 0
    for address in recipients:
        with override(languages.get(address.lower(), settings.LANGUAGE_CODE)):
            sent += _send_once(
                f"application_revoked:{application.pk}:{revoked_at}:{address}",
                "emails/application_revoked",
                context,
                [address],
            )
    return sent


def password_reset_email_send(
    *,
    email: str = "",
    user_id: int | None = None,
    domain: str,
    site_name: str,
    use_https: bool,
    subject_template_name: str,
    email_template_name: str,
    html_email_template_name: str | None = None,
    from_email: str | None = None,
) -> int:
    """Send Django's password reset e-mail to each active account of `email` with a usable password (the
    accounts Django's own form would pick); returns how many were sent. The request queued this for every
    address typed, so the lookup happens here, and so does the token (it never travels through the broker).
    Each account gets at most `DCR_PASSWORD_RESET_LIMIT` e-mails per window, whatever addresses asked.

    `user_id` instead of `email`: a task queued by an earlier release."""
    if user_id is not None:
        users = list(get_user_model().objects.filter(pk=user_id, is_active=True))
    else:
        users = list(PasswordResetForm().get_users(email)) if email else []
    sent = 0
    for user in users:
        if not user.has_usable_password():
            continue
        address = getattr(user, user.get_email_field_name(), "")
        if not address:
            continue
        if not window_limit_take(
            window_limit_key("password-reset-account", str(user.pk)),
            limit=dcr.password_reset_limit,
            seconds=dcr.password_reset_window_seconds,
        ):
            logger.info("password reset for user %s: over the limit, not sent", user.pk)
            continue
        context = {
            "email": address,
            "domain": domain,
            "site_name": site_name,
            "uid": urlsafe_base64_encode(force_bytes(user.pk)),
            "user": user,
            "token": default_token_generator.make_token(user),
            "protocol": "https" if use_https else "http",
        }
        with override(_languages_of([address]).get(address.lower(), settings.LANGUAGE_CODE)):
            subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
            message = EmailMultiAlternatives(
                subject, loader.render_to_string(email_template_name, context), from_email, [address]
            )
            if html_email_template_name:
                message.attach_alternative(loader.render_to_string(html_email_template_name, context), "text/html")
        message.send()
        sent += 1
    return sent


# --- Helpers --------------------------------------------------------------------------------------


def _languages_of(addresses: list[str]) -> dict[str, str]:
    """The language chosen on the account of each address that has one (lowercased address -> code)."""
    rows = AccountPreferences.objects.filter(user__email__in=addresses, user__is_active=True).exclude(language="")
    return {email.lower(): language for email, language in rows.values_list("user__email", "language")}


def _unique(addresses: Any) -> list[str]:
    seen: dict[str, str] = {}
    for address in addresses:
        address = (address or "").strip()
        if address and address.lower() not in seen:
            seen[address.lower()] = address
    return list(seen.values())


def _absolute(url_name: str, *args: Any) -> str:
    try:
        path = reverse(url_name, args=args)
    except NoReverseMatch:
        return ""
    return dcr.issuer.rstrip("/") + path


def email_send_once(marker: str, template: str, context: dict[str, Any], recipients: list[str]) -> int:
    """`_send_once` for the layers above (an abuse signal's e-mails: `software_statements.signal_emails`)."""
    return _send_once(marker, template, context, recipients)


def absolute_url(url_name: str, *args: Any) -> str:
    return _absolute(url_name, *args)


def _send_once(marker: str, template: str, context: dict[str, Any], recipients: list[str]) -> int:
    """Send one email, unless a re-delivered or retried task already did (marked in the cache)."""
    key = f"dcr:email-sent:{marker}"
    if cache.get(key):
        return 0
    subject = " ".join(loader.render_to_string(f"{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject, loader.render_to_string(f"{template}.txt", context), settings.DEFAULT_FROM_EMAIL, recipients
    )
    message.attach_alternative(loader.render_to_string(f"{template}.html", context), "text/html")
    message.send()
    cache.set(key, 1, SENT_MARKER_SECONDS)
    return 1
