"""Sign-in lock-out (django-axes): repeated failures lock out the account and, apart, the address, on the
dashboard and the admin sign-in; a TAM lifts a lock-out in the admin; password reset leaks no account."""

import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core import mail
from django.test import Client

from tests.factories import UserFactory
from tests.two_factor import staff_sign_in_data


def _without_csrf(page: bytes) -> bytes:
    """A page without its CSRF token (the language menu's form carries one, masked anew on every response)."""
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", page)


PASSWORD = "password-for-tests"
DASHBOARD_LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
ATTACKER = "203.0.113.66"
ELSEWHERE = "198.51.100.7"


def sign_in(client: Client, path: str, username: str, password: str, address: str, **extra: str):
    return client.post(path, {"username": username, "password": password, **extra}, REMOTE_ADDR=address)


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def guess(path: str, usernames: list[str], addresses: list[str], times: int = 25) -> None:
    """`times` wrong passwords in a row, cycling through the usernames and the addresses."""
    for attempt in range(times):
        response = sign_in(
            Client(), path, usernames[attempt % len(usernames)], "wrong-password", addresses[attempt % len(addresses)]
        )
        assert response.status_code in (200, 429)


@pytest.fixture
def staff(db):
    return UserFactory(username="staff-member", is_staff=True, is_superuser=True)


@pytest.mark.django_db
def test_the_settings_lock_out_per_account_and_per_address_after_five_failures_for_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username"], ["ip_address"]]


def test_dashboard_twenty_five_wrong_passwords_then_the_right_one_is_refused(rw_user):
    guess(DASHBOARD_LOGIN, ["rw"], [ATTACKER])
    client = Client()
    response = sign_in(client, DASHBOARD_LOGIN, "rw", PASSWORD, ATTACKER)
    assert response.status_code == 429
    assert not signed_in(client)
    page = response.content.decode()
    assert "Sign-in paused" in page
    assert "Try again in 15 minutes" in page


def test_dashboard_lock_out_is_per_account_whatever_the_address(rw_user, ro_user):
    guess(DASHBOARD_LOGIN, ["rw"], [f"192.0.2.{n}" for n in range(1, 26)])
    # The account is locked from a fresh address too...
    locked = Client()
    assert sign_in(locked, DASHBOARD_LOGIN, "rw", PASSWORD, ELSEWHERE).status_code == 429
    assert not signed_in(locked)
    # ...and one of the guessing addresses still signs another account in (no address saw 5 failures).
    other = Client()
    assert sign_in(other, DASHBOARD_LOGIN, "ro", PASSWORD, "192.0.2.1").status_code == 302
    assert signed_in(other)


def test_dashboard_lock_out_is_per_address_whatever_the_account(rw_user, ro_user, other_user):
    guess(DASHBOARD_LOGIN, [f"guess-{n}" for n in range(25)], [ATTACKER])
    # Another account from the guessing address: refused.
    from_attacker = Client()
    assert sign_in(from_attacker, DASHBOARD_LOGIN, "ro", PASSWORD, ATTACKER).status_code == 429
    assert not signed_in(from_attacker)
    # Another address can still sign in to another account.
    elsewhere = Client()
    assert sign_in(elsewhere, DASHBOARD_LOGIN, "other", PASSWORD, ELSEWHERE).status_code == 302
    assert signed_in(elsewhere)


def test_a_username_that_does_not_exist_locks_out_exactly_like_one_that_does(rw_user):
    guess(DASHBOARD_LOGIN, ["rw"], [f"192.0.2.{n}" for n in range(1, 7)], times=6)
    guess(DASHBOARD_LOGIN, ["nobody-here"], [f"192.0.2.{n}" for n in range(7, 13)], times=6)
    known = sign_in(Client(), DASHBOARD_LOGIN, "rw", "wrong-password", "192.0.2.99")
    unknown = sign_in(Client(), DASHBOARD_LOGIN, "nobody-here", "wrong-password", "192.0.2.98")
    assert known.status_code == unknown.status_code == 429
    assert _without_csrf(known.content) == _without_csrf(unknown.content)


def test_the_fifth_failure_locks_and_the_fourth_does_not(rw_user):
    guess(DASHBOARD_LOGIN, ["rw"], [ATTACKER], times=4)
    assert sign_in(Client(), DASHBOARD_LOGIN, "rw", PASSWORD, ELSEWHERE).status_code == 302
    guess(DASHBOARD_LOGIN, ["rw"], [ATTACKER], times=1)
    assert sign_in(Client(), DASHBOARD_LOGIN, "rw", PASSWORD, ELSEWHERE).status_code == 429


def test_admin_twenty_five_wrong_passwords_then_the_right_one_is_refused(staff):
    guess(ADMIN_LOGIN, ["staff-member"], [ATTACKER])
    client = Client()
    response = sign_in(client, ADMIN_LOGIN, "staff-member", PASSWORD, ATTACKER, **staff_sign_in_data(staff))
    assert response.status_code == 429
    assert "Sign-in paused" in response.content.decode()
    assert not signed_in(client)


def test_admin_lock_out_is_per_account_and_per_address(staff, tam):
    guess(ADMIN_LOGIN, ["staff-member"], [f"192.0.2.{n}" for n in range(1, 26)])
    assert (
        sign_in(Client(), ADMIN_LOGIN, "staff-member", PASSWORD, ELSEWHERE, **staff_sign_in_data(staff)).status_code
        == 429
    )
    guess(ADMIN_LOGIN, [f"guess-{n}" for n in range(25)], [ATTACKER])
    assert sign_in(Client(), ADMIN_LOGIN, "tam", PASSWORD, ATTACKER, **staff_sign_in_data(tam)).status_code == 429
    # Another address, another account: the admin lets it in.
    elsewhere = Client()
    response = sign_in(elsewhere, ADMIN_LOGIN, "tam", PASSWORD, ELSEWHERE, **staff_sign_in_data(tam))
    assert response.status_code == 302
    assert elsewhere.get("/admin/").status_code == 200


def test_failures_on_the_dashboard_and_the_admin_count_together(rw_user):
    guess(DASHBOARD_LOGIN, ["rw"], [ATTACKER], times=3)
    guess(ADMIN_LOGIN, ["rw"], [ATTACKER], times=2)
    assert sign_in(Client(), DASHBOARD_LOGIN, "rw", PASSWORD, ELSEWHERE).status_code == 429


def test_the_address_is_the_one_the_trusted_proxies_forwarded(rw_user, ro_user, settings):
    settings.DCR_TRUSTED_PROXIES = 1
    proxy = "10.0.0.1"
    for _ in range(5):
        Client().post(
            DASHBOARD_LOGIN,
            {"username": "guess", "password": "wrong"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER}",
        )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}
    # Another client behind the same proxy is not locked out with the attacker.
    client = Client()
    response = client.post(
        DASHBOARD_LOGIN, {"username": "ro", "password": PASSWORD}, REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE
    )
    assert response.status_code == 302


def test_a_tam_lifts_a_lock_out_in_the_admin_and_the_user_signs_in(rw_user, tam, login_as):
    guess(DASHBOARD_LOGIN, ["rw"], [ATTACKER])
    assert sign_in(Client(), DASHBOARD_LOGIN, "rw", PASSWORD, ATTACKER).status_code == 429

    admin = login_as(tam)
    changelist = "/admin/axes/accessattempt/"
    page = admin.get(changelist, {"username": "rw"})
    assert page.status_code == 200
    assert "Locked Out" in page.content.decode()
    index = admin.get("/admin/").content.decode()
    assert "Sign-in lock-outs" in index
    attempts = list(AccessAttempt.objects.filter(username="rw").values_list("pk", flat=True))
    response = admin.post(
        changelist, {"action": "delete_selected", "_selected_action": [str(pk) for pk in attempts], "post": "yes"}
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="rw").exists()

    # The address's own lock-out (it guessed at rw only) went with the row; the user signs in.
    user = Client()
    assert sign_in(user, DASHBOARD_LOGIN, "rw", PASSWORD, ATTACKER).status_code == 302
    assert signed_in(user)


def test_password_reset_for_an_unknown_email_answers_exactly_like_a_known_one(
    rw_user, eager_tasks, django_capture_on_commit_callbacks
):
    known, unknown = Client(), Client()
    with django_capture_on_commit_callbacks(execute=True):
        known_response = known.post("/accounts/password_reset/", {"email": rw_user.email}, REMOTE_ADDR=ATTACKER)
        unknown_response = unknown.post(
            "/accounts/password_reset/", {"email": "nobody@example.com"}, REMOTE_ADDR=ATTACKER
        )
    assert known_response.status_code == unknown_response.status_code == 302
    assert known_response["Location"] == unknown_response["Location"] == "/accounts/password_reset/done/"
    known_page = known.get(known_response["Location"]).content
    assert _without_csrf(known_page) == _without_csrf(unknown.get(unknown_response["Location"]).content)
    assert [message.to for message in mail.outbox] == [[rw_user.email]]


def test_password_reset_still_works_for_a_locked_out_account(rw_user, eager_tasks, django_capture_on_commit_callbacks):
    guess(DASHBOARD_LOGIN, ["rw"], [ATTACKER])
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/accounts/password_reset/", {"email": rw_user.email}, REMOTE_ADDR=ATTACKER)
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line).strip()
    path = link[link.index("/accounts/reset/") :]
    client = Client()
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-long-password-42", "new_password2": "a-new-long-password-42"},
    )
    assert done.status_code == 302
    rw_user.refresh_from_db()
    assert rw_user.check_password("a-new-long-password-42")
