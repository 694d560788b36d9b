"""The TAM admin for clients and denied tokens."""

from oauth.models import Client, DeniedToken
from registered_apps.models import AuditEvent


def test_client_pages_never_show_the_secret(login_as, tam, credentials):
    client = login_as(tam)
    stored = Client.objects.get(client_id=credentials["client_id"])
    for url in ["/admin/oauth/client/", f"/admin/oauth/client/{stored.pk}/change/"]:
        response = client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert credentials["client_id"] in page
        assert credentials["client_secret"] not in page
        assert stored.client_secret not in page
        assert stored.client_secret.split("$")[-1] not in page  # the digest (the salt is the client id)


def test_device_info_is_shown_read_only(login_as, tam, credentials):
    stored = Client.objects.get(client_id=credentials["client_id"])
    stored.device_info = {"osName": "tvOS", "model": "AppleTV"}
    stored.save(update_fields=["device_info"])
    page = login_as(tam).get(f"/admin/oauth/client/{stored.pk}/change/").content.decode()
    assert "AppleTV" in page
    assert 'name="device_info"' not in page


def test_revoke_clients_action_asks_for_a_reason_then_revokes(login_as, tam, credentials):
    client = login_as(tam)
    stored = Client.objects.get(client_id=credentials["client_id"])
    form = {"action": "revoke_clients", "_selected_action": [stored.pk]}

    confirmation = client.post("/admin/oauth/client/", form)
    assert confirmation.status_code == 200
    assert b"Reason" in confirmation.content
    stored.refresh_from_db()
    assert stored.revoked_at is None

    done = client.post("/admin/oauth/client/", {**form, "confirm": "yes", "reason": "lost device"})
    assert done.status_code == 302
    stored.refresh_from_db()
    assert stored.revoked_at is not None
    assert stored.revocation_reason == "lost device"
    event = AuditEvent.objects.get(action="client.revoke")
    assert event.actor_user == tam


def test_denied_tokens_are_read_only(login_as, tam, credentials):
    stored = Client.objects.get(client_id=credentials["client_id"])
    DeniedToken.objects.create(jti="abc", client=stored, expires_at="2030-01-01T00:00:00Z")
    client = login_as(tam)
    assert client.get("/admin/oauth/deniedtoken/").status_code == 200
    assert client.get("/admin/oauth/deniedtoken/add/").status_code == 403
    assert client.get("/admin/oauth/client/add/").status_code == 403
