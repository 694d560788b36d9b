"""Sign-in protection in the browser: the lock-out page after N failures and its lifting by a TAM in the
admin; a staff member's authenticator enrolment and sign-in with a code. No CSP violation on any page."""

import base64
import re
import time
from urllib.parse import parse_qs, urlparse

from django.conf import settings
from django_otp.oath import totp
from playwright.sync_api import expect

from tests.browser.pages import admin_sign_in, sign_in
from tests.factories import UserFactory
from tests.two_factor import authenticator, current_code


def code_from_uri(uri: str) -> str:
    """The code an app with this otpauth URI shows now."""
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    return f"{totp(base64.b32decode(secret + '=' * (-len(secret) % 8))):06d}"


def test_lock_out_after_repeated_failures_and_a_tam_lifts_it(new_page, screenshot, rw_user, tam):
    # Every browser here comes from 127.0.0.1, which the failures lock out too: the TAM signs in first
    # (a signed-in session is not affected; only new sign-ins are refused).
    admin = new_page()
    admin_sign_in(admin, "tam", current_code(authenticator(tam)))
    expect(admin.locator("#site-name")).to_be_visible()

    page = new_page()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(page, "rw", password="wrong-password")
    expect(page.get_by_role("heading", name="Sign-in paused")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Try again in 15 minutes")
    screenshot(page, "locked-out")
    # The right password is refused too while it lasts.
    sign_in(page, "rw")
    expect(page.get_by_role("heading", name="Sign-in paused")).to_be_visible()

    admin.goto("/admin/")
    admin.get_by_role("link", name="Access attempts").click()
    expect(admin.locator("#result_list")).to_contain_text("Locked Out")
    admin.locator("#action-toggle").check()
    admin.locator("select[name=action]").select_option("delete_selected")
    admin.get_by_role("button", name="Go").click()
    admin.get_by_role("button", name="Yes, I’m sure").click()
    expect(admin.locator(".messagelist")).to_contain_text("Successfully deleted")
    screenshot(admin, "lifted")

    sign_in(page, "rw")
    expect(page.locator(".usernav")).to_contain_text("rw")


def test_staff_enrol_an_authenticator_in_the_browser_then_sign_in_to_the_admin_with_a_code(new_page, screenshot):
    UserFactory(username="new-tam", is_staff=True, is_superuser=True)
    page = new_page()
    # Password only: the admin's sign-in asks for a code, and points to the enrolment.
    page.goto("/admin/")
    expect(page.get_by_label("Authentication code")).to_be_visible()
    expect(page.get_by_role("link", name="No authenticator app yet? Set one up from the dashboard.")).to_be_visible()
    # The dashboard's sign-in sends staff without an authenticator to enrol one.
    sign_in(page, "new-tam")
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.locator("img.qr-code")).to_be_visible()
    uri = page.locator("code.otpauth-uri").inner_text().strip()
    screenshot(page, "enrol")
    page.get_by_label("Authentication code").fill(code_from_uri(uri))
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "recovery-codes")
    page.get_by_role("link", name="I have saved them, continue").click()
    expect(page.locator(".usernav")).to_contain_text("new-tam")

    # A new browser: the admin's own sign-in with a code from the app, then with a recovery code. A code
    # is accepted once and the enrolment used the current one, so wait for the app's next code: a code
    # from a step ahead is not safe (when the enrolment crossed a step boundary, django-otp records a
    # clock drift of -1 and a code two steps ahead of its clock is refused).
    enrolled_step = int(time.time() // 30)
    while int(time.time() // 30) <= enrolled_step:
        time.sleep(0.2)
    admin = new_page()
    admin_sign_in(admin, "new-tam", code_from_uri(uri))
    expect(admin.locator("#site-name")).to_be_visible()
    expect(admin.locator("body")).to_contain_text(re.compile("Sign-in lock-outs", re.IGNORECASE))
    other = new_page()
    admin_sign_in(other, "new-tam", codes[0])
    expect(other.locator("#site-name")).to_be_visible()
    again = new_page()
    admin_sign_in(again, "new-tam", codes[0])
    expect(again.locator(".errornote")).to_contain_text("not valid")
