"""Celery tasks of software_statements: scheduled signing key rotation in every environment
(`DCR_KEY_ROTATION_DAYS`, 0 = off), and an abuse signal's e-mails."""

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from core.conf import dcr
from registered_apps.models import Environment
from registered_apps.tasks import EMAIL_TASK_OPTIONS

from .keys import signing_key_rotate
from .models import KeyPurpose, KeyState, SigningKey
from .signal_emails import signal_email_send

logger = logging.getLogger(__name__)


def signing_keys_rotate_when_due(*, rotation_days: int, now: datetime | None = None) -> list[str]:
    """In every environment, rotate each purpose whose active key has been active for `rotation_days`
    days; returns what was rotated as "<environment slug>:<purpose>". A purpose that never signed in an
    environment (no active key there yet) is left alone.

    The active key's row stays locked while a purpose rotates, so two runs at once rotate it once:
    the second sees a fresh active key that is not due."""
    if rotation_days <= 0:
        return []
    cutoff = (now or timezone.now()) - timedelta(days=rotation_days)
    rotated = []
    for environment in Environment.objects.order_by("order", "pk"):
        for purpose in KeyPurpose.values:
            with transaction.atomic():
                active = (
                    SigningKey.objects.select_for_update()
                    .filter(environment=environment, purpose=purpose, state=KeyState.ACTIVE)
                    .first()
                )
                if active is None or (active.activated_at or active.created_at) > cutoff:
                    continue
                new_key = signing_key_rotate(purpose=purpose, environment_id=environment.pk, actor="system")
            logger.info("scheduled rotation of %s keys in %s: %s is now active", purpose, environment.slug, new_key.kid)
            rotated.append(f"{environment.slug}:{purpose}")
    return rotated


@shared_task(name="software_statements.signing_keys_rotate_due")
def signing_keys_rotate_due() -> list[str]:
    return signing_keys_rotate_when_due(rotation_days=dcr.key_rotation_days)


@shared_task(name="software_statements.signal_email", **EMAIL_TASK_OPTIONS)
def signal_email(signal_id: int) -> int:
    return signal_email_send(signal_id)
