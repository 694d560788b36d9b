"""Scheduled signing key rotation: DCR_KEY_ROTATION_DAYS (0 = off) rotates keys that are old enough, once."""

import datetime

import pytest
from django.utils import timezone

from registered_apps.models import AuditEvent
from software_statements import keys
from software_statements.models import KeyState, SigningKey
from software_statements.services import software_statement_issue
from software_statements.tasks import signing_keys_rotate_due
from software_statements.verify import software_statement_verify


@pytest.fixture(autouse=True)
def _fresh_key_caches():
    keys.clear_key_caches()
    yield
    keys.clear_key_caches()


def _activated_days_ago(purpose: str, days: int) -> SigningKey:
    key = keys.signing_key_active(purpose)
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

    assert signing_keys_rotate_due.apply().get() == ["statement"]

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

    assert sorted(signing_keys_rotate_due.apply().get()) == ["access_token", "statement"]
    assert signing_keys_rotate_due.apply().get() == []
    assert SigningKey.objects.filter(state=KeyState.RETIRING).count() == 2
