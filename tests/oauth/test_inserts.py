"""The registration's one-statement insert (`oauth.inserts`) writes exactly the rows the ORM writes."""

import uuid

import pytest
from django.db import IntegrityError, connection

from oauth.inserts import client_with_audit_insert
from oauth.models import Client
from registered_apps.models import AuditEvent
from registered_apps.services import audit_event_new
from software_statements.services import software_statement_issue


@pytest.fixture
def statement_row(application):
    return software_statement_issue(application=application, actor="tests")[1]


SKIP = {"id", "client_id", "created", "updated", "created_at", "object_id", "object_repr", "actor_label"}


def _pair(application, programmer, statement_jti):
    client = Client(
        client_id=uuid.uuid4().hex,
        name="Watch App 1.0",
        client_type=Client.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Client.GRANT_CLIENT_CREDENTIALS,
        client_secret="client_secret_hmac$k1$c2VjcmV0",
        hash_client_secret=True,
        redirect_uris="com.example.watch:/callback https://watch.example.com/cb",
        registration_source="dcr",
        registered_application_id=application.pk,
        statement_id=statement_jti,
        scopes=["api:client:v2", "api:client:v1"],
        platform="ios",
        device_info={"model": "iPhone15,2", "nested": {"ünïcode": [1, 2.5, None, True]}},
        user_agent="Watch/1.0 (iPhone; iOS 17.1)",
    )
    event = audit_event_new(
        actor=client.client_id,
        action="client.register",
        target=client,
        programmer=programmer,
        ip_address="2001:db8::7",
        details={"software_id": str(application.pk), "platform": "ios", "quote": 'it\'s "fine"'},
    )
    return client, event


def _row(obj):
    fresh = type(obj).objects.get(pk=obj.pk)
    return {f.attname: getattr(fresh, f.attname) for f in type(obj)._meta.concrete_fields if f.attname not in SKIP}


def test_one_statement_insert_writes_the_rows_the_orm_writes(application, programmer, statement_row):
    fast_client, fast_event = _pair(application, programmer, statement_row.jti)
    client_with_audit_insert(fast_client, fast_event)

    orm_client, orm_event = _pair(application, programmer, statement_row.jti)
    orm_client.save()
    orm_event.object_id = str(orm_client.pk)
    orm_event.save()

    assert _row(fast_client) == _row(orm_client)
    assert _row(fast_event) == _row(orm_event)
    stored_event = AuditEvent.objects.get(pk=fast_event.pk)
    assert stored_event.object_id == str(fast_client.pk) == fast_event.object_id
    assert stored_event.object_type == "client"
    stored_client = Client.objects.get(pk=fast_client.pk)
    assert stored_client.created == fast_client.created is not None
    assert not fast_client._state.adding and fast_client._state.db == connection.alias


@pytest.mark.django_db(transaction=True)
def test_the_insert_is_atomic_a_refused_audit_row_leaves_no_client(application, programmer, statement_row):
    client, event = _pair(application, programmer, statement_row.jti)
    event.programmer_id = 10**12  # no such programmer: the audit row breaks its foreign key
    with pytest.raises(IntegrityError):
        client_with_audit_insert(client, event)
    assert not Client.objects.filter(client_id=client.client_id).exists()
    assert not AuditEvent.objects.filter(actor_label=client.client_id).exists()


def _prepared_inserts() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["WITH c AS (INSERT INTO%"]
        )
        return int(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_the_statement_is_prepared_once_per_connection_and_its_rows_stay_right(application, programmer, statement_row):
    pairs = [_pair(application, programmer, statement_row.jti) for _ in range(3)]
    for client, event in pairs:
        client_with_audit_insert(client, event)
    assert _prepared_inserts() == 1
    for client, event in pairs:  # each run bound its own values
        assert Client.objects.get(pk=client.pk).client_id == client.client_id
        assert AuditEvent.objects.get(pk=event.pk).object_id == str(client.pk)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
@pytest.mark.django_db(transaction=True)
def test_no_prepared_statement_where_options_turn_them_off(application, programmer, statement_row):
    """DATABASE_PGBOUNCER's `prepare_threshold: None` (README "PgBouncer"): the values bound, nothing prepared."""
    options = connection.settings_dict.setdefault("OPTIONS", {})
    connection.close()
    options["prepare_threshold"] = None
    try:
        client, event = _pair(application, programmer, statement_row.jti)
        client_with_audit_insert(client, event)
        client_with_audit_insert(*_pair(application, programmer, statement_row.jti))
        assert _prepared_inserts() == 0
        assert Client.objects.get(pk=client.pk).client_id == client.client_id
    finally:
        connection.close()
        del options["prepare_threshold"]
