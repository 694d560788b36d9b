"""Every page that takes a `next` sends the browser to a path of this site: the one asked for when it is
a local path, the page's own fallback for anything else (`core.next_path`). Never a 5xx (text without
"/" or "." once reached `redirect()`, which looked it up as a URL name), never another host."""

import re
from collections.abc import Callable
from html import unescape
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from registered_apps.models import Push
from tests.factories import UserFactory
from tests.two_factor import authenticator, current_code, verify_session

PASSWORD = "password-for-tests"
HOME = "/"
ADMIN_HOME = "/admin/"
SIGNED_OUT = "/accounts/login/"
GOOD_NEXT = "/programmers/demo-networks/?q=a&b=%C3%A9"

HOSTILE = [
    "-1",
    "x",
    "é",
    "<script>alert(1)</script>",
    "1e9999",
    "//evil.example",
    "https://evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "%00",
    "\x00",
    "/\t/evil.example",
    " /programmers/",
    "x" * 5000,
]
HOSTILE_IDS = [
    "minus-one",
    "x",
    "e-acute",
    "script",
    "1e9999",
    "scheme-relative",
    "absolute",
    "slash-backslash",
    "backslashes",
    "javascript",
    "percent-00",
    "nul",
    "tab",
    "leading-space",
    "5000-chars",
]


def _local_path(location: str) -> bool:
    parts = urlsplit(location)
    return (
        location.startswith("/")
        and not location.startswith(("//", "/\\"))
        and not parts.scheme
        and not parts.netloc
        and not any(ord(c) < 32 or ord(c) == 127 for c in location)
    )


def _lands_on(response, expected: str) -> None:
    assert response.status_code < 500
    assert response.status_code == 302, response.status_code
    location = response["Location"]
    assert _local_path(location), location
    assert location == expected


def _hidden_next(response) -> str:
    """The `next` a page's form will send back (HTML-unescaped)."""
    # The language menu at every page's foot sends the page itself back as its own `next`: not the form's.
    page = re.sub(r'<form[^>]*class="language-menu".*?</form>', "", response.content.decode(), flags=re.S)
    found = re.findall(r'<input type="hidden" name="next" value="([^"]*)"', page)
    assert found, "the page has no next field"
    assert len(set(found)) == 1
    return unescape(found[0])


def _rejected_in_query(response, value: str) -> bool:
    """A NUL anywhere in a query string is a 400 before any view (dcr_project.middleware)."""
    return "\x00" in value and response.status_code == 400


def _password_sign_in(user) -> Client:
    client = Client()
    assert client.post(SIGNED_OUT, {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


# --- One scenario per page that reads `next`: each returns where the browser ends up ------------------


def two_factor_get_as_member(users, value: str, expected: str) -> None:
    client = Client()
    client.force_login(users["member"])
    response = client.get(reverse("two_factor"), {"next": value})
    if not _rejected_in_query(response, value):
        _lands_on(response, expected)


def two_factor_get_as_verified_staff(users, value: str, expected: str) -> None:
    client = Client()
    staff = users["staff"]
    device = authenticator(staff)
    assert client.post(SIGNED_OUT, {"username": staff.username, "password": PASSWORD}).status_code == 302
    assert client.post(reverse("two_factor"), {"code": current_code(device)}).status_code == 302
    response = client.get(reverse("two_factor"), {"next": value})
    if not _rejected_in_query(response, value):
        _lands_on(response, expected)


def two_factor_code(users, value: str, expected: str) -> None:
    staff = users["staff"]
    device = authenticator(staff)
    client = _password_sign_in(staff)
    page = client.get(reverse("two_factor"), {"next": value})
    if _rejected_in_query(page, value):
        page = client.get(reverse("two_factor"))
    else:
        assert page.status_code == 200
        assert _hidden_next(page) == expected
    _lands_on(client.post(reverse("two_factor"), {"code": current_code(device), "next": value}), expected)


def two_factor_enrol(users, value: str, expected: str) -> None:
    """A staff member without an app: the first code confirms it, and the recovery codes page's
    "continue" link is the `next`."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    staff = users["staff"]
    client = _password_sign_in(staff)
    page = client.get(reverse("two_factor"), {"next": value})
    if _rejected_in_query(page, value):
        page = client.get(reverse("two_factor"))
    else:
        assert page.status_code == 200
        assert _hidden_next(page) == expected
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    page = client.post(reverse("two_factor"), {"code": current_code(device), "next": value})
    assert page.status_code == 200
    link = re.search(r'<a class="button button-primary" href="([^"]*)">I have saved them', page.content.decode())
    assert link is not None
    assert unescape(link.group(1)) == expected


def environment_switch(users, value: str, expected: str) -> None:
    client = Client()
    client.force_login(users["member"])
    response = client.post(
        reverse("registered_apps:environment_choose"), {"environment": "release-staging", "next": value}
    )
    _lands_on(response, expected)


def push_promote(users, value: str, expected: str) -> None:
    client = Client()
    client.force_login(users["member"])
    push = Push.objects.get()
    url = reverse("registered_apps:push_promote", kwargs={"push_id": push.pk})
    # No target: the page goes back to `next` with an error message.
    _lands_on(client.post(url, {"target": "", "next": value}), expected)
    in_query = client.post(f"{url}?{urlencode({'next': value})}", {"target": ""})
    if not _rejected_in_query(in_query, value):
        _lands_on(in_query, expected)


def sign_in(users, value: str, expected: str) -> None:
    client = Client()
    page = client.get(SIGNED_OUT, {"next": value})
    if not _rejected_in_query(page, value):
        assert page.status_code == 200
        assert _hidden_next(page) in ("", expected)
    response = client.post(SIGNED_OUT, {"username": users["member"].username, "password": PASSWORD, "next": value})
    _lands_on(response, expected)


def staff_sign_in_through_the_second_factor(users, value: str, expected: str) -> None:
    """Password, then wherever the sign-in sends the browser, then the second factor's page, then its code."""
    staff = users["staff"]
    device = authenticator(staff)
    client = Client()
    response = client.post(SIGNED_OUT, {"username": staff.username, "password": PASSWORD, "next": value})
    _lands_on(response, expected)
    response = client.get(response["Location"])
    assert response.status_code == 302
    second_factor = response["Location"]
    assert _local_path(second_factor) and second_factor.startswith(reverse("two_factor") + "?next=")
    page = client.get(second_factor)
    assert page.status_code == 200
    carried = _hidden_next(page)
    assert carried == expected
    _lands_on(client.post(reverse("two_factor"), {"code": current_code(device), "next": carried}), expected)


def admin_sign_in(users, value: str, expected: str) -> None:
    staff = users["staff"]
    device = authenticator(staff)
    client = Client()
    page = client.get("/admin/login/", {"next": value})
    if not _rejected_in_query(page, value):
        assert page.status_code == 200
        assert _hidden_next(page) in ("", expected)
    data = {"username": staff.username, "password": PASSWORD, "otp_token": current_code(device), "next": value}
    _lands_on(client.post("/admin/login/", data), expected)


def sign_out(users, value: str, expected: str) -> None:
    client = Client()
    client.force_login(users["member"])
    _lands_on(client.post(reverse("logout"), {"next": value}), expected)


def admin_sign_out(users, value: str, expected: str) -> None:
    client = Client()
    client.force_login(users["staff"])
    verify_session(client, users["staff"])
    _lands_on(client.post("/admin/logout/", {"next": value}), expected)


def locked_out_sign_in(users, value: str, expected: str) -> None:
    """A locked-out sign-in is the lock-out page whatever its `next` (and signs nobody in)."""
    client = Client()
    for _ in range(5):
        client.post(SIGNED_OUT, {"username": users["member"].username, "password": "wrong", "next": value})
    response = client.post(SIGNED_OUT, {"username": users["member"].username, "password": PASSWORD, "next": value})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


SCENARIOS: list[tuple[Callable[..., None], str]] = [
    (two_factor_get_as_member, HOME),
    (two_factor_get_as_verified_staff, HOME),
    (two_factor_code, HOME),
    (two_factor_enrol, HOME),
    (environment_switch, HOME),
    (push_promote, HOME),
    (sign_in, HOME),
    (staff_sign_in_through_the_second_factor, HOME),
    (admin_sign_in, ADMIN_HOME),
    (sign_out, SIGNED_OUT),
    (admin_sign_out, SIGNED_OUT),
    (locked_out_sign_in, HOME),
]


@pytest.fixture
def users(rw_user, programmer, channels):
    return {"member": rw_user, "staff": UserFactory(username="staff-member", is_staff=True, is_superuser=True)}


@pytest.fixture
def a_push(users, programmer):
    """One successful push the member may promote (the promote form's page)."""
    client = Client()
    client.force_login(users["member"])
    client.post(
        reverse("registered_apps:programmer_application_create", kwargs={"programmer_slug": programmer.slug}),
        {"name": "Player", "version": "1.0.0", "coverage": "all", "platforms": ["ios"], "scopes": ["api:client:v2"]},
    )
    assert client.post(reverse("registered_apps:changes_push"), {"description": "First"}).status_code == 302
    return Push.objects.get()


@pytest.mark.parametrize("value", HOSTILE, ids=HOSTILE_IDS)
@pytest.mark.parametrize("scenario,fallback", SCENARIOS, ids=[s.__name__ for s, _ in SCENARIOS])
def test_a_next_that_is_not_a_local_path_lands_on_the_fallback(users, a_push, scenario, fallback, value):
    scenario(users, value, fallback)


@pytest.mark.parametrize("scenario", [s for s, _ in SCENARIOS if s is not locked_out_sign_in], ids=lambda s: s.__name__)
def test_a_local_next_is_honoured(users, a_push, scenario):
    scenario(users, GOOD_NEXT, GOOD_NEXT)
