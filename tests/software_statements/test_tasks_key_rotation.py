"""Scheduled signing key rotation: DCR_KEY_ROTATION_DAYS (0 = off) rotates keys that are old enough, once,
in every environment."""

import datetime

from django.utils import timezone

from registered_apps.environments import environment_by_slug
from registered_apps.models import AuditEvent
from software_statements import keys
from software_statements.models import KeyState, SigningKey
from software_statements.services import software_statement_issue
from software_statements.tasks import signing_keys_rotate_due
from software_statements.verify import software_statement_verify


def _activated_days_ago(purpose: str, days: int, environment_id: int | None = None) -> SigningKey:
    key = keys.signing_key_active(purpose, environment_id=environment_id)
    SigningKey.objects.filter(pk=key.pk).update(activated_at=timezone.now() - datetime.timedelta(days=days))
    return key


def test_scheduled_rotation_is_off_by_default(settings, db):
    assert settings.DCR_KEY_ROTATION_DAYS == 0
    old = _activated_days_ago("statement", 4000)

    assert signing_keys_rotate_due.apply().get() == []
    assert keys.signing_key_active("statement").pk == old.pk


def test_keys_active_longer_than_the_setting_are_rotated_and_old_statements_still_verify(settings, application):
    settings.DCR_KEY_ROTATION_DAYS = 90
    statement, _ = software_statement_issue(application=application, actor="tests")
    old_statement_key = _activated_days_ago("statement", 91)
    fresh_token_key = _activated_days_ago("access_token", 10)

    assert signing_keys_rotate_due.apply().get() == ["release-production:statement"]

    old_statement_key.refresh_from_db()
    assert old_statement_key.state == KeyState.RETIRING
    assert keys.signing_key_active("statement").pk != old_statement_key.pk
    assert keys.signing_key_active("access_token").pk == fresh_token_key.pk
    keys.clear_key_caches()
    assert software_statement_verify(statement).application.pk == application.pk
    assert AuditEvent.objects.filter(action="signing_key.rotate", actor_label="system").count() == 1


def test_a_repeated_run_does_not_rotate_again(settings, db):
    settings.DCR_KEY_ROTATION_DAYS = 30
    _activated_days_ago("statement", 31)
    _activated_days_ago("access_token", 31)

    assert sorted(signing_keys_rotate_due.apply().get()) == [
        "release-production:access_token",
        "release-production:statement",
    ]
    assert signing_keys_rotate_due.apply().get() == []
    assert SigningKey.objects.filter(state=KeyState.RETIRING).count() == 2


def test_every_environment_rotates_its_own_due_keys_and_leaves_the_others(settings, db):
    settings.DCR_KEY_ROTATION_DAYS = 30
    staging, prequal = environment_by_slug("release-staging"), environment_by_slug("prequal-staging")
    assert staging is not None and prequal is not None
    due_staging = _activated_days_ago("statement", 31, staging.id)
    fresh_production = _activated_days_ago("statement", 2)
    fresh_prequal = _activated_days_ago("access_token", 5, prequal.id)

    assert signing_keys_rotate_due.apply().get() == ["release-staging:statement"]

    due_staging.refresh_from_db()
    assert due_staging.state == KeyState.RETIRING
    assert keys.signing_key_active("statement", environment_id=staging.id).pk != due_staging.pk
    assert keys.signing_key_active("statement").pk == fresh_production.pk
    assert keys.signing_key_active("access_token", environment_id=prequal.id).pk == fresh_prequal.pk
    # Environments that never signed get no keys from the schedule.
    prequal_production = environment_by_slug("prequal-production")
    assert prequal_production is not None
    assert not SigningKey.objects.filter(environment_id=prequal_production.id).exists()
    event = AuditEvent.objects.get(action="signing_key.rotate")
    assert event.details["environment"] == staging.id and event.actor_label == "system"
