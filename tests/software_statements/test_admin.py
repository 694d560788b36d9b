"""The TAM admin for signing keys and statements: no private key anywhere, actions through the services."""

import pytest
from django.urls import reverse

from registered_apps.models import AuditEvent
from software_statements import keys
from software_statements.models import KeyState, SigningKey, SoftwareStatement
from software_statements.services import software_statement_issue


def private_fragments(key):
    """Pieces of the key's secrets that must not appear on any page."""
    private_key = keys.signing_private_key(key)
    from jwcrypto.jwk import JWK

    exported = JWK.from_pyca(private_key).export_private(as_dict=True)
    return [key.private_key_encrypted[:40], exported["d"][:24]]


@pytest.mark.django_db
def test_signing_key_pages_never_show_private_material(login_as, tam):
    statement_key = keys.signing_key_active("statement")
    token_key = keys.signing_key_active("access_token")
    client = login_as(tam)
    pages = [
        client.get(reverse("admin:software_statements_signingkey_changelist")),
        client.get(reverse("admin:software_statements_signingkey_change", args=[statement_key.pk])),
        client.get(reverse("admin:software_statements_signingkey_change", args=[token_key.pk])),
    ]
    for page in pages:
        assert page.status_code == 200
        content = page.content.decode()
        assert statement_key.kid in content or token_key.kid in content
        for key in (statement_key, token_key):
            for fragment in private_fragments(key):
                assert fragment not in content
        assert "private_key" not in content
    assert client.get(reverse("admin:software_statements_signingkey_add")).status_code == 403


@pytest.mark.django_db
def test_rotate_action_rotates_the_selected_purpose_with_the_tam_as_actor(login_as, tam):
    old = keys.signing_key_active("access_token")
    statement_key = keys.signing_key_active("statement")
    response = login_as(tam).post(
        reverse("admin:software_statements_signingkey_changelist"),
        {"action": "rotate_keys", "_selected_action": [old.pk]},
        REMOTE_ADDR="192.0.2.4",
    )
    assert response.status_code == 302
    old.refresh_from_db()
    statement_key.refresh_from_db()
    assert old.state == KeyState.RETIRING
    assert statement_key.state == KeyState.ACTIVE
    event = AuditEvent.objects.get(action="signing_key.rotate")
    assert event.actor_user == tam and event.ip_address == "192.0.2.4"


@pytest.mark.django_db
def test_retire_action_retires_retiring_keys_and_refuses_the_active_one(login_as, tam):
    old = keys.signing_key_active("statement")
    keys.signing_key_rotate(purpose="statement", actor="tests")
    active = keys.signing_key_active("statement")
    response = login_as(tam).post(
        reverse("admin:software_statements_signingkey_changelist"),
        {"action": "retire_keys", "_selected_action": [old.pk, active.pk]},
        follow=True,
    )
    assert b"cannot be retired" in response.content
    old.refresh_from_db()
    active.refresh_from_db()
    assert old.state == KeyState.RETIRED
    assert active.state == KeyState.ACTIVE


@pytest.mark.django_db
def test_revoke_statements_action_asks_for_a_reason_then_revokes(login_as, tam, application):
    _, statement = software_statement_issue(application=application, actor="tests")
    url = reverse("admin:software_statements_softwarestatement_changelist")
    client = login_as(tam)
    confirm = client.post(url, {"action": "revoke_statements", "_selected_action": [statement.pk]})
    assert confirm.status_code == 200 and b"Reason" in confirm.content
    assert b"ends 0 clients" in confirm.content  # what the revocation ends, before it is confirmed
    assert SoftwareStatement.objects.get(pk=statement.pk).revoked_at is None

    missing_reason = client.post(
        url, {"action": "revoke_statements", "_selected_action": [statement.pk], "confirm": "yes", "reason": ""}
    )
    assert missing_reason.status_code == 200
    assert SoftwareStatement.objects.get(pk=statement.pk).revoked_at is None

    done = client.post(
        url,
        {"action": "revoke_statements", "_selected_action": [statement.pk], "confirm": "yes", "reason": "leaked"},
    )
    assert done.status_code == 302
    statement.refresh_from_db()
    assert statement.revoked_by == tam and statement.revocation_reason == "leaked"


@pytest.mark.django_db
def test_statement_list_and_detail_are_read_only_and_searchable(login_as, tam, application):
    _, statement = software_statement_issue(application=application, actor="tests")
    client = login_as(tam)
    listing = client.get(reverse("admin:software_statements_softwarestatement_changelist"), {"q": str(statement.jti)})
    assert listing.status_code == 200 and str(statement.jti).encode() in listing.content
    by_name = client.get(reverse("admin:software_statements_softwarestatement_changelist"), {"q": "App"})
    assert str(statement.jti).encode() in by_name.content
    detail = client.get(reverse("admin:software_statements_softwarestatement_change", args=[statement.pk]))
    assert detail.status_code == 200
    assert b'name="revocation_reason"' not in detail.content  # read-only, not a form field
    assert client.get(reverse("admin:software_statements_softwarestatement_add")).status_code == 403


@pytest.mark.django_db
def test_no_key_can_be_deleted_from_the_admin(login_as, tam):
    key = keys.signing_key_active("statement")
    url = reverse("admin:software_statements_signingkey_delete", args=[key.pk])
    response = login_as(tam).post(url, {"post": "yes"})
    assert response.status_code == 403
    assert SigningKey.objects.filter(pk=key.pk).exists()
