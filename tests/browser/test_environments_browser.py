"""README "Environments" and "Dashboard" in a real browser: environments, pending changes, review and push, statement
download per environment, promotion to production, dismiss; screenshots at 1280 px and 375 px."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import requests
from playwright.sync_api import expect

from registered_apps.models import ChannelDomain, CustomScheme, PendingChange, Push, RegisteredApplication
from tests.browser.pages import create_application, push_pending, sign_in

PHONE = {"width": 375, "height": 812}


def _switch(page, environment: str) -> None:
    page.get_by_label("Environment").select_option(label=environment)
    page.get_by_role("button", name="Switch").click()
    page.wait_for_load_state()
    expect(page.get_by_label("Environment")).to_have_value(re.compile(".+"))


def _download(page) -> str:
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download software statement").click()
    return Path(download_info.value.path()).read_text().strip()


def _register(live_server, statement: str, host: str | None) -> requests.Response:
    """Register with the statement at the live server, as `host` (the environment's host name) would
    reach it; `*.localhost` is loopback, so the request goes to the same server with that Host header."""
    port = urlsplit(live_server.url).port
    headers = {"Host": f"{host}:{port}"} if host else {}
    return requests.post(
        f"http://127.0.0.1:{port}/o/client/register",
        json={"software_statement": statement},
        headers=headers,
        timeout=10,
    )


def test_staging_application_pushed_downloaded_registered_then_promoted_to_production(
    new_page, screenshot, live_server, rw_user, programmer, channels
):
    page = new_page()
    sign_in(page, "rw")
    page.get_by_role("link", name="Demo Networks").click()
    _switch(page, "Release Staging")
    expect(page.get_by_label("Environment")).to_have_value("release-staging")

    page.get_by_role("link", name="New application").first.click()
    expect(page.get_by_text("In Release Staging")).to_be_visible()
    create_application(page, name="Staging player", channels=None, platforms=["iOS"], scopes=["api:client:v2"])
    expect(page.get_by_role("status").filter(has_text="1 pending change")).to_contain_text("Release Staging")
    assert not RegisteredApplication.objects.exists(), "nothing takes effect before it is pushed"
    screenshot(page, "banner")

    page.get_by_role("link", name="Review", exact=True).click()
    expect(page.get_by_role("heading", name="Review pending changes")).to_be_visible()
    review = page.locator(".change-entry").first
    expect(review).to_contain_text("Staging player")
    expect(review.locator("td.value-new").first).not_to_be_empty()
    push_button = page.get_by_role("button", name="Push changes")
    screenshot(page, "review-1280")
    page.set_viewport_size(PHONE)
    screenshot(page, "review-375")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    page.set_viewport_size({"width": 1280, "height": 900})
    # The description is required before anything can be pushed.
    expect(push_button).to_be_disabled()

    page.get_by_label("Configuration description").fill("Staging player for the QA team")
    push_button.click()
    page.wait_for_load_state()
    expect(page.get_by_text(re.compile("Pushed 1 change to Release Staging"))).to_be_visible()
    staged = RegisteredApplication.objects.get(name="Staging player")
    assert staged.environment.slug == "release-staging"

    page.goto(f"{live_server.url}/applications/{staged.pk}/")
    expect(page.locator("#application-environment")).to_have_text("Release Staging")
    statement = _download(page)
    screenshot(page, "staging-detail")

    registered = _register(live_server, statement, "release-staging.localhost")
    assert registered.status_code == 201, registered.text
    refused = _register(live_server, statement, None)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_software_statement", refused.text

    # The changes log: the push, then promote it to Release Production and push it there.
    page.goto(f"{live_server.url}/programmers/{programmer.slug}/changes/")
    entry = page.locator("article").filter(has_text="Staging player for the QA team")
    expect(entry).to_contain_text("Successful")
    screenshot(page, "changes-log-1280")
    page.set_viewport_size(PHONE)
    screenshot(page, "changes-log-375")
    page.set_viewport_size({"width": 1280, "height": 900})
    entry.get_by_label("Promote to").select_option(label="Release Production")
    entry.get_by_role("button", name="Promote").click()
    page.wait_for_load_state()
    _switch(page, "Release Production")
    expect(page.get_by_role("status").filter(has_text="1 pending change")).to_contain_text("Release Production")
    push_pending(page, "Staging player goes live")
    expect(page.get_by_text(re.compile("Pushed 1 change to Release Production"))).to_be_visible()

    production = RegisteredApplication.objects.get(name="Staging player", environment__is_production=True)
    assert production.pk != staged.pk
    assert Push.objects.get(description="Staging player goes live").promoted_from.description == (
        "Staging player for the QA team"
    )
    page.goto(f"{live_server.url}/applications/{production.pk}/")
    production_statement = _download(page)
    assert _register(live_server, production_statement, None).status_code == 201
    assert _register(live_server, production_statement, "release-staging.localhost").status_code == 400


def test_dismiss_leaves_nothing_behind(new_page, screenshot, live_server, rw_user, programmer, channels):
    page = new_page()
    sign_in(page, "rw")
    page.get_by_role("link", name="Demo Networks").click()
    _switch(page, "Prequal Staging")
    before = (ChannelDomain.objects.count(), CustomScheme.objects.count())
    page.get_by_role("link", name="New application").first.click()
    create_application(page, name="Throwaway", channels=None, platforms=["Roku"], scopes=["api:client:v2"])
    expect(page.get_by_role("status").filter(has_text="1 pending change")).to_be_visible()
    page.get_by_role("link", name="Review", exact=True).click()
    page.get_by_role("link", name="Dismiss changes…").click()
    expect(page.get_by_role("heading", name="Dismiss 1 pending change?")).to_be_visible()
    page.get_by_role("button", name="Dismiss 1 change").click()
    page.wait_for_load_state()
    expect(page.get_by_text(re.compile("Dismissed 1 pending change"))).to_be_visible()
    expect(page.locator(".envbar-pending")).to_have_count(0)
    screenshot(page, "dismissed")
    assert not PendingChange.objects.exists()
    assert not RegisteredApplication.objects.exists()
    assert not Push.objects.exists()
    assert (ChannelDomain.objects.count(), CustomScheme.objects.count()) == before
