"""What stopped a new user of the dashboard: stale pages after Back, a second push of pushed changes,
a revoked application's clients counted active, an unreadable audit list, and the smaller things (a
literal None, staged applications missing from the list, dismiss without asking, the version rule,
model plurals, /favicon.ico). Django test client; the same in a browser: tests/browser/test_first_use_browser.py."""

import ast
import html
import re
import uuid
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.templatetags.static import static
from django.urls import reverse

from oauth.models import Client as OAuthClient
from registered_apps import services
from registered_apps.audit_events import ACTION_NAMES
from registered_apps.dashboard.changes_log import EVENTS_PER_PAGE
from registered_apps.environments import environments_all
from registered_apps.forms import ApplicationForm
from registered_apps.models import (
    AuditEvent,
    PendingChange,
    Push,
    PushStatus,
    RegisteredApplication,
)
from registered_apps.services import changes
from software_statements.services import software_statement_issue, software_statement_revoke
from tests.factories import UserFactory, make_application, member
from tests.helpers import push_all

pytestmark = pytest.mark.django_db

REVIEW = reverse("registered_apps:changes_review")
PUSH = reverse("registered_apps:changes_push")
DISMISS = reverse("registered_apps:changes_dismiss")
ROOT = Path(settings.BASE_DIR)


def programmer_url(name, programmer):
    return reverse(f"registered_apps:programmer_{name}", kwargs={"programmer_slug": programmer.slug})


def detail_url(application):
    return reverse("registered_apps:application_detail", kwargs={"application_id": application.pk})


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment))).strip()


# --- Back after a push, and a second push of the same page ------------------------------------------


def test_signed_in_pages_are_not_stored_by_the_browser(login_as, rw_user, programmer, channels, production):
    application = make_application(programmer, name="Stored")
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    client = login_as(rw_user)
    for path in (
        "/",
        REVIEW,
        DISMISS,
        programmer_url("applications", programmer),
        programmer_url("changes", programmer),
        programmer_url("changes_audit", programmer),
        detail_url(application),
        "/accounts/password_change/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], (path, response.get("Cache-Control"))
    # An answer that chose its own caching keeps it (public keys are meant to be cached).
    assert client.get("/.well-known/jwks.json")["Cache-Control"].startswith("public")


def test_a_second_push_of_pushed_changes_names_the_push_and_keeps_what_was_typed(
    login_as, rw_user, programmer, channels, production
):
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    client = login_as(rw_user)
    reviewed = client.get(REVIEW).context["form"].initial["reviewed"]
    first = client.post(PUSH, {"description": "Scheme for demo-one", "reviewed": reviewed})
    assert first.status_code == 302
    push = Push.objects.get()
    # The same page again (Back, or a second tab), with another description typed.
    again = client.post(PUSH, {"description": "Typed a second time", "reviewed": reviewed})
    assert again.status_code == 409
    page = again.content.decode()
    notice = text_of(page.split('id="already-pushed"', 1)[1].split("</div>\n", 1)[0])
    assert f"already pushed in push #{push.pk} by rw" in notice and "Scheme for demo-one" in notice
    assert "Typed a second time" in notice
    assert f"{programmer_url('changes', programmer)}?environment=release-production#push-{push.pk}" in page
    assert Push.objects.count() == 1 and push.changes.count() == 1
    # A change staged since then is what the page offers to push now, under a fresh form.
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[1])
    later = client.post(PUSH, {"description": "Typed a third time", "reviewed": reviewed})
    assert later.status_code == 409 and "demo-two" in later.content.decode()
    fresh = later.context["form"]
    assert not fresh.is_bound and fresh.initial["reviewed"] == str(PendingChange.objects.get().pk)


def test_a_push_of_changes_that_changed_meanwhile_is_still_a_plain_refusal(
    login_as, rw_user, programmer, channels, production
):
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    client = login_as(rw_user)
    reviewed = client.get(REVIEW).context["form"].initial["reviewed"]
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[1])
    response = client.post(PUSH, {"description": "Stale", "reviewed": reviewed})
    assert response.status_code == 400 and "already pushed" not in response.content.decode()
    assert not Push.objects.exists()


def test_dismiss_asks_first_without_script(login_as, rw_user, programmer, channels, production):
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    client = login_as(rw_user)
    review = client.get(REVIEW).content.decode()
    assert f'href="{DISMISS}"' in review
    for asked in (client.get(DISMISS), client.post(DISMISS)):
        page = asked.content.decode()
        assert asked.status_code == 200 and "Dismiss 1 pending change?" in page
        assert re.search(r"Generate custom scheme adbe\.u-\S+ for channel demo-one", text_of(page))
        assert 'name="confirm"' in page
    assert PendingChange.objects.count() == 1
    done = client.post(DISMISS, {"confirm": "yes"}, follow=True).content.decode()
    assert "Dismissed 1 pending change in Release Production." in done
    assert not PendingChange.objects.exists()
    # Nothing to dismiss: back to the review page.
    assert client.get(DISMISS)["Location"] == REVIEW


def test_a_dismissal_confirmed_on_a_stale_page_asks_again(login_as, rw_user, channels, production):
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    client = login_as(rw_user)
    listed = client.get(DISMISS).context["listed"]
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[1])
    again = client.post(DISMISS, {"confirm": "yes", "listed": listed})
    assert again.status_code == 409 and "Dismiss 2 pending changes?" in again.content.decode()
    assert "your pending changes changed" in again.content.decode()
    assert PendingChange.objects.count() == 2
    client.post(DISMISS, {"confirm": "yes", "listed": again.context["listed"]})
    assert not PendingChange.objects.exists()


def test_the_push_form_says_the_description_is_required_and_why_the_button_waits(
    login_as, rw_user, channels, production
):
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    page = login_as(rw_user).get(REVIEW).content.decode()
    assert 'Configuration description <span class="required-mark">(required)</span>' in page
    assert "Write a configuration description to push." in page


# --- A revoked application's clients --------------------------------------------------------------


def make_clients(application, count, *, statement=None):
    return OAuthClient.objects.bulk_create(
        OAuthClient(
            client_id=f"first-use-{uuid.uuid4().hex}",
            registered_application=application,
            statement=statement,
            client_type=OAuthClient.CLIENT_CONFIDENTIAL,
            authorization_grant_type=OAuthClient.GRANT_CLIENT_CREDENTIALS,
            client_secret="not-a-secret",
            hash_client_secret=False,
        )
        for n in range(count)
    )


def test_a_revoked_applications_clients_are_not_counted_active(login_as, rw_user, tam, programmer, channels):
    application = make_application(programmer, name="Gone")
    make_clients(application, 2)
    client = login_as(rw_user)
    assert "2 active" in text_of(client.get(detail_url(application)).content.decode())
    services.registered_application_revoke(application=application, reason="Leaked secret", actor=tam)
    page = client.get(detail_url(application)).content.decode()
    stats = text_of(page.split('id="client-count"', 1)[1].split("</div></div>", 1)[0])
    assert "0 active: revoked with the application" in stats
    banner = page.split('id="revocation-notice"', 1)[1].split("</div>", 1)[0]
    # The reason is a sentence of its own, not run into the next one.
    assert re.search(r"<p>Reason: <q>Leaked secret</q></p>\s*<p>Its statements register no new client", banner)


def test_clients_of_a_revoked_statement_are_not_counted_active(login_as, rw_user, tam, programmer, channels):
    application = make_application(programmer, name="Half")
    _, revoked = software_statement_issue(application=application, actor=tam)
    _, valid = software_statement_issue(application=application, actor=tam)
    make_clients(application, 2, statement=revoked)
    make_clients(application, 1, statement=valid)
    software_statement_revoke(statement=revoked, reason="Leaked", actor=tam)
    page = text_of(login_as(rw_user).get(detail_url(application)).content.decode())
    assert "Registered clients 3 1 active" in page


# --- The audit events -----------------------------------------------------------------------------

AUDIT_WRITERS = {"audit_event_record", "audit_event_new", "AuditEvent", "create", "_audit", "_record"}
# The action codes written from an f-string, spelled out: the catalogs' (`services/catalogs.py`) and
# the renames (`services/audit.py`, `name_change_record`).
DYNAMIC_ACTIONS = {
    "registered_apps/services/catalogs.py": {
        f"{model}.{verb}" for model in ("platform", "scope") for verb in ("create", "change", "reactivate", "retire")
    },
    "registered_apps/services/audit.py": {"programmer.change", "channel.change"},
}


def action_codes_written() -> set[str]:
    """Every action code the code base writes: `action=` of an audit writer's call (or its first
    argument, for `_audit`), read from the source; an f-string must be one of DYNAMIC_ACTIONS'."""
    found: set[str] = set()
    for app in ("core", "registered_apps", "software_statements", "oauth", "dcr_project"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            relative = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                function = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if function not in AUDIT_WRITERS:
                    continue
                values = [kw.value for kw in node.keywords if kw.arg == "action"]
                if function == "_audit" and node.args:
                    values.append(node.args[0])
                for value in values:
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        found.add(value.value)
                    elif isinstance(value, ast.JoinedStr):
                        assert relative in DYNAMIC_ACTIONS, f"{relative}:{node.lineno}: spell its codes out here"
                        found |= DYNAMIC_ACTIONS[relative]
    return found


def test_every_action_code_the_code_base_writes_has_a_plain_name():
    written = action_codes_written()
    # The walk finds the writers (a regression of the walk would pass vacuously).
    assert {"push", "push.promote", "pending_changes.dismiss", "client.register", "signing_key.rotate"} <= written
    assert {"client.idle", "client.purge", "staff_totp_enrolled", "platform.retire"} <= written
    assert written - ACTION_NAMES.keys() == set()


def test_the_audit_list_shows_plain_names_never_codes(login_as, rw_user, programmer, production):
    codes = list(ACTION_NAMES)
    client = login_as(rw_user)
    # A page's worth at a time (EVENTS_PER_PAGE), so that one page shows every event of the batch.
    for start in range(0, len(codes), EVENTS_PER_PAGE):
        batch = codes[start : start + EVENTS_PER_PAGE]
        AuditEvent.objects.filter(actor_label="tests").delete()
        for code in batch:
            AuditEvent.objects.create(
                actor_label="tests",
                action=code,
                object_type="programmer",
                object_id=str(programmer.pk),
                object_repr=programmer.name,
                programmer=programmer,
            )
        page = client.get(programmer_url("changes_audit", programmer)).content.decode()
        shown = [text_of(cell) for cell in re.findall(r'<td data-label="What">(.*?)</td>', page, re.S)]
        assert sorted(shown) == sorted(str(ACTION_NAMES[code]) for code in batch)
        assert not re.search(r"\b[a-z]+_[a-z_]+\b|\b[a-z_]+\.[a-z_]+\b", text_of(page.split("<table", 1)[1]))


def test_the_audit_list_has_an_environment_column_and_filter_and_names_objects(
    login_as, rw_user, programmer, channels, staging, production
):
    for environment in (staging, production):
        changes.channel_domain_add_stage(
            user=rw_user, environment=environment, channel=channels[0], host="tv.example.com"
        )
        push_all(rw_user, environment, f"Domain in {environment.name}")
    staging_push = Push.objects.get(environment=staging)
    application = make_application(programmer, name="Player", environment=staging)
    client = login_as(rw_user)
    url = programmer_url("changes_audit", programmer)

    rows = audit_rows_of(client.get(url).content.decode())
    assert ("Added domain", "Release Staging", "Domain tv.example.com of demo-one") in rows
    assert ("Added domain", "Release Production", "Domain tv.example.com of demo-one") in rows
    assert ("Pushed changes", "Release Staging", f"Push #{staging_push.pk} to Release Staging") in rows
    assert ("Created application", "Release Staging", "Player 1.0.0") in rows

    only_staging = audit_rows_of(client.get(url, {"environment": "release-staging"}).content.decode())
    assert {environment for _, environment, _ in only_staging} == {"Release Staging"}
    assert len(only_staging) == 3
    assert detail_url(application) in client.get(url, {"environment": "release-staging"}).content.decode()
    assert audit_rows_of(client.get(url, {"environment": "prequal-staging"}).content.decode()) == []


def audit_rows_of(page: str) -> list[tuple[str, str, str]]:
    if 'id="audit-events"' not in page:
        return []
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", page.split('id="audit-events"', 1)[1], re.S)[1:]:
        cells = dict(re.findall(r'<td data-label="([^"]+)"[^>]*>(.*?)</td>', row, re.S))
        obj = cells["Object"].split('<div class="muted small">', 1)[0]
        rows.append((text_of(cells["What"]), text_of(cells["Environment"]), text_of(obj)))
    return rows


# --- Smaller ----------------------------------------------------------------------------------------


def test_no_literal_none_on_the_channels_pages(login_as, rw_user, programmer, channels):
    client = login_as(rw_user)
    table = client.get(programmer_url("channels", programmer)).content.decode()
    cells = re.findall(r'<td data-label="Default redirect URL">(.*?)</td>', table)
    assert len(cells) == 3 and all(text_of(cell) == "Not set" for cell in cells)
    for cell in re.findall(r'<td data-label="(?:Domains|Custom schemes)">(.*?)</td>', table, re.S):
        assert text_of(cell) != "None"


def test_staged_applications_are_listed_as_pending_for_their_author_only(
    login_as, client, rw_user, programmer, channels, production
):
    client = login_as(rw_user)
    staged = {"name": "Staged player", "version": "1.0.0", "coverage": "all", "platforms": ["ios"]}
    client.post(programmer_url("application_create", programmer), {**staged, "scopes": ["api:client:v2"]})
    assert not RegisteredApplication.objects.exists()
    page = client.get(programmer_url("applications", programmer)).content.decode()
    row = text_of(page.split('class="row-pending"', 1)[1].split("</tr>", 1)[0])
    assert "Staged player 1.0.0" in row and "Pending push" in row and "All channels" in row and "iOS" in row
    channel_page = client.get(reverse("registered_apps:channel_applications", kwargs={"channel_slug": "demo-two"}))
    assert "Staged player" in channel_page.content.decode()
    colleague = UserFactory(username="colleague")
    member(colleague, programmer)
    client.force_login(colleague)
    assert "Staged player" not in client.get(programmer_url("applications", programmer)).content.decode()


def test_application_versions_are_major_minor_patch_with_an_optional_suffix(programmer, channels):
    for good in ("1.0.0", "2.10.3", "2.0.0-beta.1", "3.1.4-rc1"):
        assert make_application(programmer, name=f"Good {good}", version=good).version == good
    for bad in ("v-two", "2", "2.0", "v2.0.0", "2.0.0-", "2.0.0 beta", "2.0.0-beta..1"):
        with pytest.raises(ValidationError) as refused:
            make_application(programmer, name=f"Bad {bad}", version=bad)
        assert "MAJOR.MINOR.PATCH" in " ".join(refused.value.message_dict["version"]), bad
    form = ApplicationForm(platforms=[], scopes=[], domains=[], channels=None, allow_all_channels=True)
    assert "MAJOR.MINOR.PATCH" in form.fields["version"].help_text


def test_an_existing_application_with_another_version_form_is_untouched(login_as, rw_user, programmer, channels):
    application = make_application(programmer, name="Legacy")
    RegisteredApplication.objects.filter(pk=application.pk).update(version="v-two")
    page = login_as(rw_user).get(detail_url(application))
    assert page.status_code == 200 and "v-two" in page.content.decode()


def test_every_model_has_a_plural_a_person_would_write():
    """No "Usage dailys": a plural ending the way English never does (consonant + "ys", "chs", "xs"...)."""
    naive = re.compile(r"([^aeiou]ys|chs|shs|xs|zs|sss)$")
    names = {model._meta.verbose_name_plural for model in apps.get_models()}
    names |= {model._meta.verbose_name_plural for model in admin.site._registry}
    assert [str(name) for name in names if naive.search(str(name))] == []
    assert apps.get_model("registered_apps", "UsageDaily")._meta.verbose_name_plural == "daily usage"


def test_favicon_is_served_and_linked(client, rw_user, login_as):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 302 and answer["Location"] == static("favicon.ico")
    assert answer["Cache-Control"] == "public, max-age=86400"
    # An icon file (ICO header: reserved 0, type 1), which the static files serve (the browser test
    # fetches it from the live server).
    assert Path(finders.find("favicon.ico")).read_bytes()[:4] == b"\x00\x00\x01\x00"
    page = login_as(rw_user).get("/").content.decode()
    assert f'<link rel="icon" href="{answer["Location"]}"' in page


def test_the_environment_filter_of_the_audit_list_knows_every_environment(login_as, rw_user, programmer):
    page = login_as(rw_user).get(programmer_url("changes_audit", programmer)).content.decode()
    menu = page.split('<select id="audit-environment" name="environment">', 1)[1].split("</select>", 1)[0]
    for environment in environments_all():
        assert f'<option value="{environment.slug}"' in menu


def test_the_pushed_changes_remember_the_pending_change_they_were(rw_user, channels, production):
    staged = changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    push = push_all(rw_user, production)
    assert push.status == PushStatus.SUCCESSFUL
    assert list(push.changes.values_list("pending_change_id", flat=True)) == [staged.pk]
