"""The staff second factor (django-otp): the admin refuses a staff session without it, accepts a TOTP code
or a single-use recovery code, and staff enrol from the CLI, from seed_demo and in the browser."""

import base64
import io
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from registered_apps.models import AuditEvent
from tests.factories import UserFactory
from tests.two_factor import authenticator, current_code

PASSWORD = "password-for-tests"


def admin_sign_in(client: Client, username: str, code: str, password: str = PASSWORD):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password, "otp_token": code})


def code_from_uri(uri: str) -> str:
    """The current code of the authenticator an otpauth:// URI describes, as an app computes it."""
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    secret = parse_qs(parsed.query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{totp(key):06d}"


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_admin_refuses_a_staff_session_without_the_second_factor(client, tam):
    client.force_login(tam)  # password only
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    # The dashboard and the staff statement download send it to the second factor first.
    for path in ("/", "/accounts/password_change/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/two-factor/?next=")


def test_the_admin_sign_in_needs_a_valid_code(tam):
    device = authenticator(tam)
    for code in ("", "000000" if current_code(device) != "000000" else "111111", "not-a-code"):
        client = Client()
        response = admin_sign_in(client, "tam", code)
        assert response.status_code == 200, code
        assert "_auth_user_id" not in client.session
        assert client.get("/admin/").status_code == 302


def test_the_admin_accepts_a_staff_user_after_a_valid_totp_code(tam):
    device = authenticator(tam)
    client = Client()
    response = admin_sign_in(client, "tam", current_code(device))
    assert response.status_code == 302
    page = client.get("/admin/")
    assert page.status_code == 200
    assert b"Sign-in lock-outs" in page.content
    # Verified in the admin, verified on the dashboard too.
    assert client.get("/").status_code == 200


def test_a_totp_code_is_accepted_once(tam):
    code = current_code(authenticator(tam))
    assert admin_sign_in(Client(), "tam", code).status_code == 302
    assert admin_sign_in(Client(), "tam", code).status_code == 200


def test_recovery_codes_work_once_each(tam):
    authenticator(tam)
    codes = run("staff_totp", "tam", "--replace").split("shown once):\n")[-1].split()
    assert len(codes) == 10 and len(set(codes)) == 10
    first = Client()
    assert admin_sign_in(first, "tam", codes[0]).status_code == 302
    assert first.get("/admin/").status_code == 200
    # On the dashboard's second-factor page too.
    dashboard = Client()
    dashboard.force_login(tam)
    assert dashboard.post("/accounts/two-factor/", {"code": codes[1], "next": "/"})["Location"] == "/"
    assert dashboard.get("/").status_code == 200
    assert StaticToken.objects.filter(device__user=tam).count() == 8
    # A used code is refused.
    again = Client()
    assert admin_sign_in(again, "tam", codes[0]).status_code == 200
    assert again.get("/admin/").status_code == 302


def test_staff_totp_command_enrols_and_prints_a_working_uri_and_codes_once(tam):
    output = run("staff_totp", "tam")
    uri = re.search(r"otpauth://\S+", output)[0]
    assert "issuer=DCR%20Registry" in uri
    assert TOTPDevice.objects.get(user=tam).confirmed
    assert admin_sign_in(Client(), "tam", code_from_uri(uri)).status_code == 302
    assert set(AuditEvent.objects.filter(object_id=str(tam.pk)).values_list("action", flat=True)) == {
        "staff_totp_enrolled",
        "staff_recovery_codes_issued",
    }
    assert not any(uri in str(event.details) for event in AuditEvent.objects.all())


def test_staff_totp_command_keeps_an_existing_device_unless_told_to_replace_it(tam):
    run("staff_totp", "tam")
    with pytest.raises(CommandError, match="already has an authenticator app"):
        run("staff_totp", "tam")
    first = TOTPDevice.objects.get(user=tam)
    run("staff_totp", "tam", "--replace")
    assert TOTPDevice.objects.get(user=tam).pk != first.pk


def test_staff_totp_command_refuses_non_staff_and_unknown_users(rw_user):
    with pytest.raises(CommandError, match="not staff"):
        run("staff_totp", "rw")
    with pytest.raises(CommandError, match="no user"):
        run("staff_totp", "nobody")
    assert not TOTPDevice.objects.exists()


def test_browser_enrolment_confirms_with_a_code_and_shows_recovery_codes_once(client, db):
    staff = UserFactory(username="new-staff", is_staff=True)
    client.force_login(staff)
    page = client.get("/accounts/two-factor/?next=/admin/")
    assert page.status_code == 200
    html = page.content.decode()
    uri = re.search(r"otpauth://[^<\s]+", html)[0].replace("&amp;", "&")
    assert 'src="data:image/svg+xml;base64,' in html
    assert "<script" not in html.split("</head>")[1] and "style=" not in html
    # Reloading keeps the same key until it is confirmed.
    assert uri in client.get("/accounts/two-factor/").content.decode().replace("&amp;", "&")
    assert client.post("/accounts/two-factor/", {"code": "12345", "next": "/admin/"}).status_code == 200
    assert not TOTPDevice.objects.get(user=staff).confirmed
    time.sleep(1.1)  # django-otp throttles the next try for a second after a wrong code

    done = client.post("/accounts/two-factor/", {"code": code_from_uri(uri), "next": "/admin/"})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())
    assert len(codes) == 10
    assert TOTPDevice.objects.get(user=staff).confirmed
    assert client.get("/admin/").status_code == 200  # verified by the enrolment (staff without permissions)
    # Enrolled: the page never offers a new key again, to this session or to a password-only one.
    assert client.get("/accounts/two-factor/")["Location"] == "/"
    other = Client()
    other.force_login(staff)
    html = other.get("/accounts/two-factor/").content.decode()
    assert "otpauth://" not in html and "Confirm it" in html


def test_the_second_factor_page_ignores_an_offsite_next(client, tam):
    client.force_login(tam)
    code = current_code(authenticator(tam))
    response = client.post("/accounts/two-factor/", {"code": code, "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_non_staff_never_see_the_second_factor(login_as, rw_user):
    client = login_as(rw_user)
    assert client.get("/").status_code == 200
    assert client.get("/accounts/two-factor/")["Location"] == "/"
    assert not TOTPDevice.objects.exists()


def test_seed_demo_prints_a_working_authenticator_uri_and_recovery_codes_for_the_tam(db):
    output = run("seed_demo")
    uri = re.search(r"otpauth://\S+", output)[0]
    codes = output.split("recovery codes (each works once):")[1].splitlines()[0].split()
    assert len(codes) == 10
    assert admin_sign_in(Client(), "tam", code_from_uri(uri), password="lantern-orbit-7").status_code == 302
    assert admin_sign_in(Client(), "tam", codes[0], password="lantern-orbit-7").status_code == 302
    # Run again: the same device, the unused codes.
    again = run("seed_demo")
    assert uri in again and codes[0] not in again and codes[1] in again
