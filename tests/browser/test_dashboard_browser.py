"""The dashboard in a real browser (Chromium through Playwright) against a live server."""

import re
from datetime import timedelta
from pathlib import Path

import requests
from django.utils import timezone
from playwright.sync_api import expect

from registered_apps.models import RegisteredApplication, RevocationRequest, UsageDaily
from software_statements.models import SoftwareStatement
from tests.browser.pages import admin_sign_in, create_application, push_pending, sign_in
from tests.factories import make_application
from tests.two_factor import authenticator, current_code

JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def test_read_write_programmer_creates_an_application_downloads_its_statement_registers_and_gets_a_token(
    new_page, screenshot, live_server, rw_user, programmer, channels
):
    page = new_page()
    sign_in(page, "rw")
    expect(page.get_by_role("heading", name="Your programmers")).to_be_visible()
    screenshot(page, "home")

    page.get_by_role("link", name="Demo Networks").click()
    expect(page.get_by_role("heading", name="Demo Networks", level=1)).to_be_visible()
    page.get_by_role("link", name="New application").first.click()
    create_application(
        page,
        name="Living room player",
        channels=["demo-one", "demo-two"],
        platforms=["iOS", "Roku"],
        scopes=["api:client:v2"],
    )
    # A pending change until it is reviewed and pushed.
    expect(page.get_by_text("“Living room player 1.0.0” is a pending change in Release Production")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="1 pending change")).to_be_visible()
    assert not RegisteredApplication.objects.exists()
    push_pending(page, "Living room launch")
    expect(page.get_by_text("Pushed 1 change to Release Production")).to_be_visible()
    page.get_by_role("link", name="Living room player 1.0.0").click()
    expect(page.get_by_role("heading", name=re.compile("Living room player"))).to_be_visible()
    application = RegisteredApplication.objects.get(name="Living room player")
    assert sorted(c.slug for c in application.channels.all()) == ["demo-one", "demo-two"]
    assert not application.all_channels

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download software statement").click()
    download = download_info.value
    assert re.fullmatch(r"software_statement_living-room-player-1-0-0_\d{8}T\d{6}Z\.txt", download.suggested_filename)
    statement = Path(download.path()).read_text().strip()
    assert JWS.match(statement)

    registered = requests.post(
        f"{live_server.url}/o/client/register",
        json={"software_statement": statement},
        headers={"User-Agent": "LivingRoom/1.0 (iPhone; iOS 17.4)"},
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    credentials = registered.json()
    token = requests.post(
        f"{live_server.url}/o/client/token",
        data={
            "client_id": credentials["client_id"],
            "client_secret": credentials["client_secret"],
            "grant_type": "client_credentials",
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text
    assert token.json()["token_type"].lower() == "bearer" and JWS.match(token.json()["access_token"])

    page.reload()
    jti = str(SoftwareStatement.objects.get(application=application).jti)
    expect(page.locator("#statements")).to_contain_text(jti)
    expect(page.locator("#client-count")).to_have_text("1")
    screenshot(page, "detail")


def test_copy_puts_a_new_statement_on_the_clipboard(new_page, screenshot, rw_user, programmer, channels):
    application = make_application(programmer, name="Copy me")
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, "rw", path=f"/applications/{application.pk}/")
    page.get_by_role("button", name="Copy statement").click()
    expect(page.locator("#copy-status")).to_contain_text("Copied a new software statement")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert JWS.match(copied)
    jti = str(SoftwareStatement.objects.get(application=application).jti)
    expect(page.locator("#copy-status")).to_contain_text(jti)
    screenshot(page)


def test_channel_user_creates_a_channel_level_application(new_page, screenshot, channel_user, channels):
    page = new_page()
    sign_in(page, "channel-one")
    expect(page.get_by_role("link", name="demo-two")).to_have_count(0)
    page.get_by_role("link", name="demo-one").click()
    expect(page.get_by_role("heading", name="Demo One", level=1)).to_be_visible()
    page.get_by_role("link", name="New application").first.click()
    expect(page.get_by_text("Channel level: for demo-one only.")).to_be_visible()
    create_application(page, name="Demo One Roku", channels=None, platforms=["Roku"], scopes=["api:client:v2"])
    push_pending(page, "Roku for demo-one")
    page.get_by_role("link", name="Demo One Roku 1.0.0").click()
    expect(page.get_by_role("heading", name=re.compile("Demo One Roku"))).to_be_visible()
    application = RegisteredApplication.objects.get(name="Demo One Roku")
    assert application.level == "channel" and application.channel == channels[0]
    screenshot(page)


def test_read_only_user_sees_no_download_or_create_control(new_page, screenshot, ro_user, programmer, channels):
    application = make_application(programmer, name="Look only")
    page = new_page()
    sign_in(page, "ro", path=f"/programmers/{programmer.slug}/")
    expect(page.get_by_role("link", name="Look only")).to_be_visible()
    expect(page.get_by_role("link", name="New application")).to_have_count(0)
    page.get_by_role("link", name="Look only").click()
    expect(page.get_by_role("heading", name=re.compile("Look only"))).to_be_visible()
    expect(page.get_by_role("button", name="Download software statement")).to_have_count(0)
    expect(page.get_by_role("button", name="Copy statement")).to_have_count(0)
    expect(page.get_by_role("link", name="Request revocation")).to_have_count(0)
    screenshot(page)
    assert application.statements.count() == 0


def test_invalid_form_shows_its_errors_next_to_the_fields(new_page, screenshot, rw_user, programmer, channels):
    page = new_page()
    sign_in(page, "rw", path=f"/programmers/{programmer.slug}/applications/new/")
    page.get_by_role("group", name="Platforms").get_by_label("Web", exact=True).check()
    page.get_by_label("Redirect URIs").fill("http://attacker.example/callback")
    page.get_by_role("button", name="Create application").click()
    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")
    expect(page.locator("#field-name .errorlist")).to_contain_text("Give the application a name.")
    expect(page.locator("#field-scopes .errorlist")).to_contain_text("Choose at least one scope.")
    expect(page.locator("#field-domains .errorlist")).to_contain_text("The web platform needs at least one domain.")
    expect(page.locator("#field-redirect_uris .errorlist")).to_contain_text("attacker.example")
    # What the user typed and ticked is still there.
    expect(page.get_by_label("Redirect URIs")).to_have_value("http://attacker.example/callback")
    expect(page.get_by_role("group", name="Platforms").get_by_label("Web", exact=True)).to_be_checked()
    screenshot(page)
    assert not RegisteredApplication.objects.exists()


def test_revocation_request_reaches_the_admin_and_the_tams_inbox(
    new_page, screenshot, eager_tasks, mailoutbox, rw_user, tam, programmer, channels
):
    application = make_application(programmer, name="Leaky app")
    page = new_page()
    sign_in(page, "rw", path=f"/applications/{application.pk}/")
    page.get_by_role("link", name="Request revocation").click()
    page.get_by_label("Why should this application be revoked?").fill("Its statement was pasted in a public forum.")
    page.get_by_role("button", name="Send the request").click()
    expect(page.get_by_text("Revocation requested", exact=False).first).to_be_visible()
    expect(page.get_by_role("link", name="Request revocation")).to_have_count(0)
    screenshot(page, "dashboard")
    assert RevocationRequest.objects.get().requested_by == rw_user
    emailed = [message for message in mailoutbox if "tam@example.com" in message.to]
    assert len(emailed) == 1 and "Leaky app" in emailed[0].body
    assert "Its statement was pasted in a public forum." in emailed[0].body

    admin = new_page()
    code = current_code(authenticator(tam))
    admin_sign_in(admin, "tam", code, path="/admin/login/?next=/admin/registered_apps/revocationrequest/")
    expect(admin.locator("#result_list")).to_contain_text("Leaky app")
    admin.locator("#result_list tbody tr th a").first.click()
    expect(admin.locator("body")).to_contain_text("Its statement was pasted in a public forum.")
    screenshot(admin, "admin")


def test_phone_width_pages_fit_without_sideways_scrolling(new_page, screenshot, rw_user, programmer, channels):
    application = make_application(
        programmer,
        name="A rather long application name for small screens",
        platforms=["ios", "roku", "web"],
        domains=["watch.demo-one.example.com"],
    )
    seed_history(application, rw_user)
    page = new_page(width=375, height=812, is_mobile=True, has_touch=True)
    sign_in(page, "rw")
    for path, suffix in (
        ("/", "home"),
        (f"/programmers/{programmer.slug}/", "list"),
        (f"/applications/{application.pk}/", "detail"),
        (f"/programmers/{programmer.slug}/applications/new/", "create"),
    ):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (path, overflow)
        if suffix == "detail":
            # The chart's day and value labels stay legible on a phone (labels in a scaled SVG shrank to 5 px).
            sizes = page.locator(".chart-x span:visible, .chart-y span").evaluate_all(
                "spans => spans.map(s => s.getBoundingClientRect().height)"
            )
            assert sizes and min(sizes) >= 11, sizes  # rendered height in CSS pixels
            assert page.locator(".chart-x span:visible").count() == 4  # first and last day of both charts
        screenshot(page, suffix)


def test_keyboard_reaches_the_skip_link_and_submits_the_login_form(new_page, screenshot, rw_user, programmer, channels):
    page = new_page()
    page.goto("/accounts/login/")
    screenshot(page, "login")
    page.get_by_label("Username").focus()
    page.keyboard.type("rw")
    page.keyboard.press("Tab")
    page.keyboard.type("password-for-tests")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Your programmers")).to_be_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_a_user_of_another_programmer_is_refused_in_the_browser(new_page, other_user, programmer, channels):
    application = make_application(programmer, name="Not yours")
    page = new_page()
    sign_in(page, "other", path=f"/applications/{application.pk}/")
    assert "Not yours" not in page.content()
    response = page.goto(f"/applications/{application.pk}/")
    assert response is not None and response.status == 404


def seed_history(application, user, days=30):
    """Statements and a month of usage, as the oauth layer's flush would leave them."""
    now = timezone.now()
    for minutes in (5, 60 * 24 * 3):
        SoftwareStatement.objects.create(
            application=application, kid="statement-2026-a", issued_at=now - timedelta(minutes=minutes), issued_by=user
        )
    for offset in range(days):
        day = now.date() - timedelta(days=offset)
        UsageDaily.objects.create(
            application=application,
            day=day,
            platform="ios",
            registrations=(offset * 7) % 5,
            tokens=40 + (offset * 37) % 90,
        )


def test_detail_page_charts_thirty_days_of_usage(new_page, screenshot, rw_user, programmer, channels):
    application = make_application(programmer, name="Charted", platforms=["ios", "roku"])
    seed_history(application, rw_user)
    page = new_page()
    sign_in(page, "rw", path=f"/applications/{application.pk}/")
    tokens = page.locator("#chart-tokens svg")
    expect(tokens).to_have_attribute("aria-label", re.compile(r"Tokens issued per day, .* in total"))
    assert tokens.locator("rect").count() == 30
    expect(page.locator("#statements tbody tr")).to_have_count(2)
    page.get_by_text("Show the numbers").click()
    expect(page.locator("details.data-table tbody tr")).to_have_count(30)
    page.get_by_text("Show the numbers").click()
    screenshot(page)


def test_every_programmer_tab_is_reachable_from_the_tab_bar(new_page, screenshot, rw_user, programmer, channels):
    for number, platform in enumerate(["ios", "roku", "androidtv"]):
        seed_history(make_application(programmer, name=f"Player {number}", platforms=[platform]), rw_user, days=12)
    page = new_page()
    sign_in(page, "rw", path=f"/programmers/{programmer.slug}/")
    tabs = page.get_by_role("navigation", name="Demo Networks sections")
    for label, check in (
        ("Channels", "watch.demo-two.example.com"),
        ("Custom schemes", channels[2].custom_schemes.get().scheme),
        ("Changes log", "Download CSV"),
        ("Usage", "Busiest applications"),
        ("Registered applications", "Player 2"),
    ):
        tabs.get_by_role("link", name=label).click()
        expect(tabs.get_by_role("link", name=label)).to_have_attribute("aria-current", "page")
        expect(page.locator("main")).to_contain_text(check)
        screenshot(page, label.lower().replace(" ", "-"))
