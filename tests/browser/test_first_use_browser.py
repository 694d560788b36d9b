"""What stopped a new user of the dashboard, in Chromium at 1280 and 375 px: Back after a push, a second
push of pushed changes, a revoked application's clients, the audit events, and the smaller things (the
header at phone width, the changes log's height, dismiss, the push button, the statement history after
a download, /favicon.ico). Every page fits its width at 375 px and runs under the Content-Security-Policy
(the new_page fixture fails the test otherwise)."""

import re
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import User
from playwright.sync_api import expect

from registered_apps import services
from registered_apps.audit_events import ACTION_NAMES
from registered_apps.environments import environment_by_slug
from registered_apps.models import AuditEvent, Environment, PendingChange, Push
from registered_apps.services import changes
from software_statements.models import SoftwareStatement
from software_statements.services import software_statement_issue
from tests.browser.pages import sign_in
from tests.factories import UserFactory, make_application, member
from tests.helpers import push_all

WIDTHS = [pytest.param(1280, id="desktop"), pytest.param(375, id="phone")]
# Four pushes of an application each (ten properties apiece) at 375 px: one card per change, its
# properties as compact lines (it was 8,109 px for four smaller pushes with a card per property).
CHANGES_LOG_MAX_HEIGHT = 4200


def no_sideways_scroll(page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, (page.url, overflow)


def one_line(page, *selectors: str) -> None:
    """The elements sit on one line (their vertical centres within a few pixels) and the text of none of
    them wraps."""
    boxes = [page.locator(selector).first.bounding_box() for selector in selectors]
    centres = [box["y"] + box["height"] / 2 for box in boxes]
    assert max(centres) - min(centres) <= 4, dict(zip(selectors, boxes, strict=True))
    for selector in selectors:
        lines = page.locator(selector).first.evaluate(
            "e => { const r = document.createRange(); r.selectNodeContents(e);"
            " return new Set([...r.getClientRects()].filter(x => x.width > 1).map(x => Math.round(x.top))).size; }"
        )
        assert lines <= 1, (selector, lines)


def words_unbroken(page, selector: str) -> None:
    """No word of the matching elements' text is split across two lines."""
    broken = page.locator(selector).evaluate_all(
        """cells => {
          const broken = [];
          for (const cell of cells) {
            const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
            while (walker.nextNode()) {
              const node = walker.currentNode;
              for (const match of node.data.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(node, match.index);
                range.setEnd(node, match.index + match[0].length);
                const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                if (tops.size > 1) broken.push(match[0]);
              }
            }
          }
          return broken;
        }"""
    )
    assert broken == [], broken


# --- Back after a push; a second push of the same page ------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_back_after_a_push_shows_nothing_pending_and_a_stale_tab_names_the_push(
    new_page, screenshot, rw_user, programmer, channels, width
):
    production = Environment.objects.get(is_production=True)
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    page = new_page(width=width)
    sign_in(page, "rw")
    page.get_by_role("link", name="Review", exact=True).click()
    stale = page.context.new_page()  # a second tab with the same review page
    stale.goto(page.url)
    page.get_by_label("Configuration description").fill("Scheme for demo-one")
    page.get_by_role("button", name="Push changes").click()
    expect(page.get_by_text("Pushed 1 change to Release Production")).to_be_visible()

    page.go_back()
    # Not the page as it was (with a live push form): fetched again, it says nothing is pending.
    expect(page.get_by_role("heading", name="No pending changes in Release Production")).to_be_visible()
    expect(page.get_by_role("button", name="Push changes")).to_have_count(0)
    no_sideways_scroll(page)
    screenshot(page, f"back-{width}")

    push = Push.objects.get()
    stale.get_by_label("Configuration description").fill("Typed in the other tab")
    stale.get_by_role("button", name="Push changes").click()
    notice = stale.locator("#already-pushed")
    expect(notice).to_contain_text(f"these changes were already pushed in push #{push.pk} by rw")
    expect(notice).to_contain_text("Typed in the other tab")
    no_sideways_scroll(stale)
    screenshot(stale, f"already-pushed-{width}")
    assert Push.objects.count() == 1
    notice.get_by_role("link", name=f"push #{push.pk}").click()
    expect(stale.locator(f"#push-{push.pk}")).to_be_visible()


# --- A revoked application ------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_a_revoked_applications_page_counts_no_active_client(
    new_page, screenshot, live_server, rw_user, tam, programmer, channels, width
):
    application = make_application(programmer, name="Revoked player", platforms=["ios"])
    statement, _ = software_statement_issue(application=application, actor=tam)
    registered = requests.post(
        f"{live_server.url}/o/client/register", json={"software_statement": statement}, timeout=10
    ).json()
    services.registered_application_revoke(
        application=application, reason="The signing secret leaked in a public repository", actor=tam
    )
    refused = requests.post(
        f"{live_server.url}/o/client/token",
        data={
            "grant_type": "client_credentials",
            "client_id": registered["client_id"],
            "client_secret": registered["client_secret"],
        },
        timeout=10,
    )
    assert refused.json()["error"] == "invalid_client"

    page = new_page(width=width)
    sign_in(page, "rw", path=f"/applications/{application.pk}/")
    expect(page.locator("#client-count")).to_have_text("1")
    expect(page.locator("#client-active")).to_have_text("0 active: revoked with the application")
    banner = page.locator("#revocation-notice")
    expect(banner.locator("p")).to_have_count(3)
    expect(banner.locator("p").nth(1)).to_have_text("Reason: The signing secret leaked in a public repository")
    expect(banner.locator("p").nth(2)).to_have_text(re.compile(r"^Its statements register no new client"))
    no_sideways_scroll(page)
    screenshot(page, str(width))


# --- The audit events -----------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_audit_events_read_as_plain_language_with_their_environment(
    new_page, screenshot, rw_user, tam, programmer, channels, width
):
    # As the seed does: the same domain in every environment, then pushes, a promotion and a dismissal.
    for environment in Environment.objects.order_by("order"):
        services.channel_domain_add(
            channel=channels[0], host="watch.example-tv.com", actor=tam, environment=environment
        )
    staging = Environment.objects.get(slug="release-staging")
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[1])
    pushed = push_all(rw_user, staging, "A scheme for demo-two")
    production = Environment.objects.get(is_production=True)
    changes.push_promote(push=pushed, target_environment=production, user=rw_user)
    changes.pending_changes_dismiss(user=rw_user, environment=production)
    application = make_application(programmer, name="Living room player", environment=staging)
    software_statement_issue(application=application, actor=rw_user)

    page = new_page(width=width)
    sign_in(page, "rw", path=f"/programmers/{programmer.slug}/changes/audit/")
    table = page.locator("#audit-events")
    expect(table).to_be_visible()
    screenshot(page, f"all-{width}")
    text = table.inner_text()
    written = AuditEvent.objects.filter(programmer=programmer).values_list("action", flat=True)
    names = table.locator('td[data-label="What"]').all_inner_texts()
    assert sorted(names) == sorted(ACTION_NAMES[code] for code in written)
    assert not any(code in text for code in written if "." in code or "_" in code), text
    assert "Dismissed pending changes\tRelease Production\t1 pending change" in text.replace("\n", "\t")
    cells = table.locator('td[data-label="Environment"]')
    environments = sorted(set(cells.all_inner_texts()))
    assert environments == sorted({"Prequal Staging", "Prequal Production", "Release Staging", "Release Production"}), (
        environments
    )
    assert f"Push #{pushed.pk} to Release Staging" in text
    assert f"Push #{pushed.pk} of Release Staging" in text  # the promotion, shown in production's row
    assert "Domain watch.example-tv.com of demo-one" in text
    assert "Statement of Living room player 1.0.0" in text
    words_unbroken(page, "#audit-events td, #audit-events th")
    no_sideways_scroll(page)

    page.get_by_label("Happened in").select_option(label="Release Staging")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    assert set(page.locator('#audit-events td[data-label="Environment"]').all_inner_texts()) == {"Release Staging"}
    expect(page.locator("#audit-events tbody tr")).to_have_count(5)
    no_sideways_scroll(page)
    screenshot(page, f"staging-{width}")


# --- Smaller ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_the_header_and_the_environment_bar_keep_their_items_on_one_line(
    new_page, screenshot, programmer, channels, width
):
    member(UserFactory(username="demo-programmer"), programmer)  # the seed's longest name
    changes.custom_scheme_create_stage(
        user=User.objects.get(username="demo-programmer"),
        environment=Environment.objects.get(is_production=True),
        channel=channels[0],
    )
    page = new_page(width=width)
    sign_in(page, "demo-programmer")
    one_line(page, ".usernav .who", ".usernav a", ".usernav button")
    one_line(page, ".envbar-form label", "#environment-menu", ".envbar-form button")
    one_line(page, ".envbar-pending span", ".envbar-pending a")
    no_sideways_scroll(page)
    screenshot(page, str(width))


def _four_application_pushes(user, programmer) -> None:
    production = Environment.objects.get(is_production=True)
    for number in range(1, 5):
        spec = services.ApplicationSpec(
            programmer=programmer,
            level="programmer",
            all_channels=True,
            platforms=["ios", "roku", "tvos"] if number % 2 else ["androidtv"],
            scopes=["api:client:v2", "decisions:owner"],
            name=f"Player number {number}",
            version=f"{number}.0.0",
            environment=production,
        )
        changes.application_create_stage(user=user, environment=production, spec=spec)
        push_all(user, production, f"Launch of player number {number}")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_changes_log_groups_each_changes_properties(new_page, screenshot, rw_user, programmer, channels, width):
    _four_application_pushes(rw_user, programmer)
    page = new_page(width=width)
    sign_in(page, "rw", path=f"/programmers/{programmer.slug}/changes/")
    expect(page.locator(".push-entry")).to_have_count(4)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= CHANGES_LOG_MAX_HEIGHT, height
    # Each change is one group whose heading names it, its properties under it.
    first = page.locator(".push-entry").first
    expect(first.locator(".change-group")).to_have_count(1)
    expect(first.locator(".change-group .property-name").first).to_be_visible()
    no_sideways_scroll(page)
    screenshot(page, f"{width}-{height}px")


@pytest.mark.parametrize("width", WIDTHS)
def test_pending_application_listed_push_button_explained_and_dismiss_asks(
    new_page, screenshot, rw_user, programmer, channels, width
):
    page = new_page(width=width)
    sign_in(page, "rw", path=f"/programmers/{programmer.slug}/channels/")
    expect(page.locator('td[data-label="Default redirect URL"]').first).to_have_text("Not set")
    assert "None" not in page.locator("table").first.inner_text()
    no_sideways_scroll(page)
    screenshot(page, f"channels-{width}")

    page.goto(f"/programmers/{programmer.slug}/applications/new/")
    expect(page.get_by_text("MAJOR.MINOR.PATCH (three numbers)")).to_be_visible()
    page.get_by_label("Application name").fill("Phone player")
    page.get_by_label("Version").fill("v-two")
    page.get_by_role("group", name="Platforms").get_by_label("iOS", exact=True).check()
    page.get_by_role("group", name="Scopes").get_by_label("api:client:v2").check()
    page.get_by_role("button", name="Create application").click()
    expect(page.get_by_text("“v-two” is not a version")).to_be_visible()
    no_sideways_scroll(page)
    page.get_by_label("Version").fill("2.0.0-beta.1")
    page.get_by_role("button", name="Create application").click()

    row = page.locator("#applications tr.row-pending")
    expect(row).to_contain_text("Phone player")
    expect(row).to_contain_text("Pending push")
    no_sideways_scroll(page)
    screenshot(page, f"applications-{width}")

    page.get_by_role("link", name="Review", exact=True).click()
    button = page.get_by_role("button", name="Push changes")
    expect(button).to_be_disabled()
    expect(page.get_by_text("Write a configuration description to push.")).to_be_visible()
    expect(page.get_by_text("(required)")).to_be_visible()
    screenshot(page, f"review-{width}")
    page.get_by_label("Configuration description").fill("Phone beta")
    expect(button).to_be_enabled()
    expect(page.get_by_text("Write a configuration description to push.")).to_be_hidden()

    page.get_by_role("link", name="Dismiss changes…").click()
    expect(page.get_by_role("heading", name="Dismiss 1 pending change?")).to_be_visible()
    expect(page.locator("#dismissed-changes")).to_contain_text("Phone player 2.0.0-beta.1")
    no_sideways_scroll(page)
    screenshot(page, f"dismiss-{width}")
    page.get_by_role("link", name="Keep them").click()
    assert PendingChange.objects.count() == 1
    page.get_by_role("link", name="Dismiss changes…").click()
    page.get_by_role("button", name="Dismiss 1 change").click()
    expect(page.get_by_text("Dismissed 1 pending change in Release Production.")).to_be_visible()
    assert not PendingChange.objects.exists()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_download_shows_in_the_statement_history_at_once(new_page, screenshot, rw_user, programmer, channels, width):
    application = make_application(programmer, name="History player")
    page = new_page(width=width)
    sign_in(page, "rw", path=f"/applications/{application.pk}/")
    expect(page.get_by_role("heading", name="No statement issued yet")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download software statement").click()
    download = download_info.value
    assert re.fullmatch(r"software_statement_history-player-1-0-0_\d{8}T\d{6}Z\.txt", download.suggested_filename)
    assert Path(download.path()).read_text().count(".") == 2
    statement = SoftwareStatement.objects.get()
    history = page.locator("#statement-history")
    expect(history.locator("#statements")).to_contain_text(str(statement.jti))
    expect(page.get_by_role("heading", name="No statement issued yet")).to_have_count(0)
    expect(page.locator("#statement-count")).to_have_text("1")
    no_sideways_scroll(page)
    screenshot(page, str(width))


def test_favicon_answers_on_every_page(new_page, live_server, rw_user, programmer, channels):
    icon = requests.get(f"{live_server.url}/favicon.ico", timeout=10)
    assert icon.status_code == 200 and icon.content[:4] == b"\x00\x00\x01\x00", icon.status_code
    assert icon.history and icon.history[0].status_code == 302
    page = new_page()
    missing = []
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    sign_in(page, "rw")
    for path in ("/", f"/programmers/{programmer.slug}/", "/admin/login/", "/api/docs/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert missing == []
    assert environment_by_slug("release-production") is not None
