"""An abuse signal's e-mails, sent once per signal (`Signal.emailed_at`, and the sent markers of
`registered_apps.emails`): one to the TAMs (what it is, where to act), one to each of the programmer's
read-write members (what it is, what to do)."""

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import override

from registered_apps.emails import (
    absolute_url,
    application_revoked_recipients,
    email_send_once,
    revocation_requested_recipients,
)

from .models import Signal


def signal_email_send(signal_id: int) -> int:
    """Returns the number of e-mails sent (0 when the signal is gone or was e-mailed already)."""
    with transaction.atomic():
        signal = (
            Signal.objects.select_for_update(of=("self",))
            .select_related("application__programmer")
            .filter(pk=signal_id, emailed_at__isnull=True)
            .first()
        )
        if signal is None:
            return 0
        application = signal.application
        with override(None):  # the site's default language: e-mails go to people of several languages
            context = {
                "signal": signal,
                "application": application,
                "programmer": application.programmer,
                "explanation": render_to_string("signals/_explanation.txt", {"signal": signal}).strip(),
                "advice": render_to_string("signals/_advice.txt").strip(),
                "admin_url": absolute_url("admin:software_statements_signal_change", signal.pk),
                "dashboard_url": absolute_url("registered_apps:application_detail", application.pk),
            }
            sent = 0
            tams = revocation_requested_recipients()
            if tams:
                sent += email_send_once(f"signal:{signal.pk}:tam", "emails/signal_raised_tam", context, tams)
            for address in application_revoked_recipients(application):
                sent += email_send_once(f"signal:{signal.pk}:{address}", "emails/signal_raised", context, [address])
        signal.emailed_at = timezone.now()
        signal.save(update_fields=["emailed_at"])
    return sent
