"""Abuse signals in a real browser (README "Abuse signals"): a TAM reads one in the admin, tightens the
application's quota and revokes the statement (the button says how many clients that ends); the
programmer sees it on the dashboard's home and on the application's page, with what to do."""

import requests
from django.test import override_settings
from playwright.sync_api import expect

from oauth.tasks import signals_compute_now
from registered_apps.models import RegisteredApplication
from software_statements.models import Signal, SoftwareStatement
from software_statements.services import software_statement_issue
from tests.browser.pages import admin_sign_in, sign_in
from tests.factories import make_application
from tests.oauth.api import device_info_header
from tests.two_factor import authenticator, current_code

ANDROID = device_info_header({"osName": "Android", "model": "Pixel 8"})


@override_settings(DCR_SIGNAL_FOREIGN_MIN=3, DCR_SIGNAL_SURGE_MIN=1000)
def test_a_signal_seen_and_acted_on_in_the_admin_and_seen_on_the_dashboard(
    new_page, screenshot, live_server, tam, rw_user, programmer, channels
):
    application = make_application(programmer, name="Leaky player", platforms=["ios"])
    token, statement = software_statement_issue(application=application, actor="tests")
    for _ in range(4):
        registered = requests.post(
            f"{live_server.url}/o/client/register",
            json={"software_statement": token},
            headers={"X-Device-Info": ANDROID},
            timeout=10,
        )
        assert registered.status_code == 201, registered.text
    [signal_id] = signals_compute_now()

    admin = new_page()
    admin_sign_in(admin, "tam", current_code(authenticator(tam)))
    admin.goto("/admin/software_statements/signal/?state=open")
    row = admin.locator("#result_list tbody tr").first
    expect(row).to_contain_text("Foreign platform")
    expect(row).to_contain_text("4 of the 4 clients registered with statement")
    row.locator("a").first.click()
    expect(admin.locator("#signal-act")).to_contain_text("android (4)")
    admin.get_by_role("button", name="Tighten quota to 1 registrations an hour").click()
    expect(admin.locator(".messagelist")).to_contain_text("may now register 1 clients an hour")
    assert RegisteredApplication.objects.get(pk=application.pk).quota_registrations_per_hour == 1
    screenshot(admin, "-admin")
    admin.get_by_role("button", name="Revoke statement (ends 4 clients)").click()
    expect(admin.locator(".messagelist")).to_contain_text("revoked")
    assert SoftwareStatement.objects.get(pk=statement.pk).revoked_at is not None
    admin.get_by_role("button", name="Acknowledge").click()
    assert Signal.objects.get(pk=signal_id).acknowledged_by_id == tam.pk

    Signal.objects.filter(pk=signal_id).update(acknowledged_at=None)  # the home page lists open ones
    page = new_page()
    sign_in(page, "rw")
    home = page.locator("#home-signals")
    expect(home).to_contain_text("Leaky player")
    expect(home).to_contain_text("Foreign platform")
    home.get_by_role("link", name="Leaky player").click()
    expect(page.locator("#signals")).to_contain_text("android (4)")
    expect(page.get_by_text("ship an update of the app")).to_be_visible()
    screenshot(page, "-dashboard")
