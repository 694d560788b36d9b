"""Downloading a statement with a lifetime in a real browser, and the statement history's status,
expiry and client count (README "Software statements and signing keys", "Dashboard")."""

import base64
import datetime
import json
import re
from pathlib import Path

import requests
from django.utils import timezone
from playwright.sync_api import expect

from registered_apps.models import Programmer
from software_statements.models import SoftwareStatement
from software_statements.services import software_statement_issue
from tests.browser.pages import sign_in
from tests.factories import make_application

DAY = 86400


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_download_with_a_lifetime_then_the_history_shows_status_expiry_and_clients(
    new_page, screenshot, live_server, rw_user, programmer, channels
):
    Programmer.objects.filter(pk=programmer.pk).update(statement_lifetime_days=90)
    application = make_application(programmer, name="Lifetime player")
    # An older statement that has expired since.
    _, old = software_statement_issue(application=application, actor="tests", lifetime_days=30)
    SoftwareStatement.objects.filter(pk=old.pk).update(expires_at=timezone.now() - datetime.timedelta(days=1))

    page = new_page()
    sign_in(page, "rw", path=f"/applications/{application.pk}/")
    lifetime = page.get_by_label("Lifetime")
    expect(lifetime).to_have_value("90")  # the programmer's default, set by a TAM
    expect(lifetime.locator("option:checked")).to_have_text("90 days (default)")
    lifetime.select_option("30")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download software statement").click()
    statement = Path(download_info.value.path()).read_text().strip()
    claims = claims_of(statement)
    assert claims["exp"] == claims["iat"] + 30 * DAY
    new = SoftwareStatement.objects.get(pk=claims["jti"])

    # The history is read again by the page's script: the new statement is active, with its expiry.
    history = page.locator("#statements")
    new_row = history.locator("tr", has_text=str(new.jti))
    expect(new_row.locator('td[data-label="Status"]')).to_have_text("Active")
    expires = datetime.datetime.fromtimestamp(claims["exp"], datetime.UTC)
    expect(new_row.locator('td[data-label="Expires"] time')).to_have_attribute(
        "datetime", re.compile("^" + re.escape(expires.strftime("%Y-%m-%dT%H:%M:%S")))
    )
    expect(new_row.locator('td[data-label="Clients"]')).to_have_text("0")
    old_row = history.locator("tr", has_text=str(old.jti))
    expect(old_row.locator('td[data-label="Status"]')).to_have_text("Expired")

    # A client registers with the new statement; the expired one is refused, saying when.
    registered = requests.post(
        f"{live_server.url}/o/client/register", json={"software_statement": statement}, timeout=10
    )
    assert registered.status_code == 201, registered.text
    page.reload()
    expect(
        page.locator("#statements").locator("tr", has_text=str(new.jti)).locator('td[data-label="Clients"]')
    ).to_have_text("1")
    screenshot(page)

    # A lifetime the form does not offer (a crafted POST) gets a page saying which there are.
    page.get_by_label("Lifetime").evaluate("select => { select.options[0].value = '45'; select.value = '45'; }")
    page.get_by_role("button", name="Download software statement").click()
    expect(page.get_by_role("heading", name="No software statement issued")).to_be_visible()
    expect(page.locator("#download-errors")).to_have_text(
        "A statement lifetime is none or one of 30, 90, 180, 365 days."
    )
    assert SoftwareStatement.objects.filter(application=application).count() == 2
