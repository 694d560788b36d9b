"""Audit retention: events older than DCR_AUDIT_RETENTION_DAYS are deleted; 0 (the default) keeps all."""

import datetime

from django.utils import timezone

from registered_apps.models import AuditEvent
from registered_apps.tasks import audit_events_purge


def _age(event: AuditEvent, days: int) -> None:
    AuditEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - datetime.timedelta(days=days))


def test_audit_events_are_kept_forever_by_default(settings, application):
    assert settings.DCR_AUDIT_RETENTION_DAYS == 0
    for event in AuditEvent.objects.all():
        _age(event, 5000)

    assert audit_events_purge.apply().get() == 0
    assert AuditEvent.objects.filter(action="application.create").exists()


def test_audit_events_past_the_retention_are_deleted_and_the_purge_is_recorded(settings, application):
    settings.DCR_AUDIT_RETENTION_DAYS = 90
    old = AuditEvent.objects.create(actor_label="tests", action="old.thing", object_type="x", object_id="1")
    _age(old, 91)
    recent = AuditEvent.objects.create(actor_label="tests", action="recent.thing", object_type="x", object_id="2")
    _age(recent, 89)

    assert audit_events_purge.apply().get() == 1

    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert "old.thing" not in actions
    assert {"recent.thing", "application.create", "audit.purge"} <= actions
    assert AuditEvent.objects.get(action="audit.purge").details["deleted"] == 1
