"""Creating, revoking and restoring applications through the services writes audit events."""

import pytest
from django.core.exceptions import ValidationError

from registered_apps import services
from registered_apps.models import ApplicationStatus, AuditEvent
from tests.factories import make_application


def test_create_application_records_an_audit_event(programmer, channels):
    application = make_application(programmer, name="Player")
    assert application.status == ApplicationStatus.ACTIVE
    event = AuditEvent.objects.get(action="application.create", object_id=str(application.pk))
    assert event.programmer == programmer and event.actor_label == "tests"


def test_revoke_requires_a_reason_and_changes_nothing_without_one(application):
    with pytest.raises(ValidationError):
        services.registered_application_revoke(application=application, reason="  ", actor="tests")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACTIVE
    assert not AuditEvent.objects.filter(action="application.revoke").exists()


def test_revoke_then_restore(application, tam):
    services.registered_application_revoke(application=application, reason="leaked", actor=tam)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REVOKED and application.revoked_by == tam
    services.registered_application_restore(application=application, actor=tam)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACTIVE and application.revoked_at is None
    assert list(AuditEvent.objects.filter(object_id=str(application.pk)).values_list("action", flat=True)) == [
        "application.restore",
        "application.revoke",
        "application.create",
    ]
