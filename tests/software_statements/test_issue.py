"""Issuing and revoking statements: the claims README "Software statements and signing keys" lists, the registry row,
the audit trail."""

import json
import time

import jwt
import pytest
from django.core.exceptions import ValidationError

from core.revocation import Revoked, stamp_key
from registered_apps.models import AuditEvent
from registered_apps.services import registered_application_revoke
from software_statements import keys
from software_statements.models import SoftwareStatement
from software_statements.services import (
    ApplicationRevokedError,
    software_statement_issue,
    software_statement_revoke,
)
from tests.factories import make_application
from tests.hot_state import stamps_read
from tests.software_statements.helpers import b64decode

SPEC_CLAIMS = {
    "iss",
    "iat",
    "jti",
    "software_id",
    "software_version",
    "client_name",
    "programmer",
    "channels",
    "platforms",
    "scope",
    "redirect_uris",
    "grant_types",
    "token_endpoint_auth_method",
}


def decode(token):
    header, payload, _ = token.split(".")
    return json.loads(b64decode(header)), json.loads(b64decode(payload))


@pytest.mark.django_db
def test_statement_carries_exactly_the_spec_header_and_claims(programmer, channels, tam):
    application = make_application(
        programmer,
        all_channels=False,
        channels=channels[:2],
        platforms=["ios", "web"],
        scopes=["api:client:v2", "analytics:client"],
        domains=[f"watch.{channels[0].slug}.example.com"],
        redirect_uris=[f"https://watch.{channels[0].slug}.example.com/callback"],
        name="Demo Player",
        version="2.1.0",
    )
    before = int(time.time())
    token, statement = software_statement_issue(application=application, actor=tam, ip_address="192.0.2.7")
    header, claims = decode(token)
    key = keys.signing_key_active("statement")
    assert header == {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    assert set(claims) == SPEC_CLAIMS
    assert "exp" not in claims
    assert claims["iss"] == "http://testserver"
    assert before - 1 <= claims["iat"] <= int(time.time()) + 1
    assert claims["jti"] == str(statement.jti)
    assert claims["software_id"] == str(application.pk)
    assert claims["software_version"] == "2.1.0"
    assert claims["client_name"] == "Demo Player"
    assert claims["programmer"] == "demo-networks"
    assert claims["channels"] == sorted([channels[0].slug, channels[1].slug])
    assert claims["platforms"] == ["ios", "web"]
    assert claims["scope"] == "analytics:client api:client:v2"
    assert claims["redirect_uris"] == [f"https://watch.{channels[0].slug}.example.com/callback"]
    assert claims["grant_types"] == ["client_credentials"]
    assert claims["token_endpoint_auth_method"] == "client_secret_post"

    assert statement.kid == key.kid and statement.issued_by == tam
    event = AuditEvent.objects.get(action="statement.issue")
    assert event.actor_user == tam and event.programmer == programmer and event.ip_address == "192.0.2.7"
    assert event.details["application"] == str(application.pk)
    assert token not in json.dumps(event.details)


@pytest.mark.django_db
def test_all_channels_statement_lists_every_channel_of_the_programmer(application, channels):
    _, claims = decode(software_statement_issue(application=application, actor="tests")[0])
    assert claims["channels"] == sorted(c.slug for c in channels)


@pytest.mark.django_db
def test_every_issue_has_a_new_jti_and_earlier_statements_stay_registered(application):
    first, _ = software_statement_issue(application=application, actor="tests")
    second, _ = software_statement_issue(application=application, actor="tests")
    assert decode(first)[1]["jti"] != decode(second)[1]["jti"]
    assert SoftwareStatement.objects.filter(application=application, revoked_at__isnull=True).count() == 2


@pytest.mark.django_db
def test_revoked_application_gets_no_statement_and_nothing_is_written(application):
    registered_application_revoke(application=application, reason="compromised", actor="tests")
    events = AuditEvent.objects.count()
    with pytest.raises(ApplicationRevokedError) as raised:
        software_statement_issue(application=application, actor="tests")
    assert "revoked" in raised.value.messages[0]
    assert not SoftwareStatement.objects.exists()
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_statement_is_signed_with_a_real_rs256_signature_pyjwt_accepts(application):
    token, _ = software_statement_issue(application=application, actor="tests")
    public_key = keys.verification_keys("statement")[keys.signing_key_active("statement").kid][1]
    claims = jwt.decode(token, public_key, algorithms=["RS256"], issuer="http://testserver")
    assert claims["software_id"] == str(application.pk)


@pytest.mark.django_db
def test_revoking_a_statement_records_who_why_and_publishes_a_stamp(
    application, tam, django_capture_on_commit_callbacks
):
    _, statement = software_statement_issue(application=application, actor="tests")
    with django_capture_on_commit_callbacks(execute=True):
        software_statement_revoke(statement=statement, reason="leaked", actor=tam, ip_address="192.0.2.9")
    statement.refresh_from_db()
    assert statement.revoked_at is not None and statement.revoked_by == tam
    assert statement.revocation_reason == "leaked"
    event = AuditEvent.objects.get(action="statement.revoke")
    assert event.details["reason"] == "leaked" and event.ip_address == "192.0.2.9"
    (stamp,) = stamps_read([stamp_key(Revoked.STATEMENT, statement.jti)])
    assert stamp == pytest.approx(statement.revoked_at.timestamp())


@pytest.mark.django_db
def test_revoking_twice_changes_nothing_and_a_reason_is_required(application):
    _, statement = software_statement_issue(application=application, actor="tests")
    with pytest.raises(ValidationError):
        software_statement_revoke(statement=statement, reason="  ", actor="tests")
    assert SoftwareStatement.objects.get(pk=statement.pk).revoked_at is None
    first = software_statement_revoke(statement=statement, reason="once", actor="tests")
    second = software_statement_revoke(statement=statement, reason="twice", actor="tests")
    assert second.revoked_at == first.revoked_at and second.revocation_reason == "once"
    assert AuditEvent.objects.filter(action="statement.revoke").count() == 1
