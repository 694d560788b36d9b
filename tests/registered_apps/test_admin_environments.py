"""Environments in the TAM admin: the environment admin itself (edit, add, refuse to delete what is in
use), the environment column and filter of every list whose rows belong to one, applications, domains,
custom schemes and channel settings made in a chosen environment (at once: the admin has no pushes),
and the read-only changes log."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from oauth.models import Client
from registered_apps import services
from registered_apps.environments import environment_by_id, environment_by_slug, environment_production
from registered_apps.models import (
    AuditEvent,
    ChannelDomain,
    ChannelSettings,
    CustomScheme,
    Environment,
    Platform,
    Push,
    PushedChange,
    PushStatus,
    RegisteredApplication,
    RevocationRequest,
    Scope,
    UsageDaily,
)
from software_statements import keys
from software_statements.models import SigningKey
from software_statements.services import software_statement_issue
from software_statements.verify import StatementError, software_statement_verify
from tests.factories import make_application, make_clients
from tests.registered_apps.helpers import bulk_applications, channel_change_data

ENVIRONMENTS = "admin:registered_apps_environment_changelist"
APPLICATIONS = "admin:registered_apps_registeredapplication_changelist"


def listed(client, url_name: str, **params) -> list:
    response = client.get(reverse(url_name), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


# --- The environment admin ------------------------------------------------------------------------


def test_environment_list_shows_order_name_slug_effective_issuer_and_production(admin_client, db):
    response = admin_client.get(reverse(ENVIRONMENTS))
    assert response.status_code == 200
    rows = list(response.context["cl"].result_list)
    assert [row.slug for row in rows] == [
        "prequal-staging",
        "prequal-production",
        "release-staging",
        "release-production",
    ]
    content = response.content.decode()
    # The issuers are derived (blank column): DCR_ISSUER for production, <slug>.localhost for the others.
    assert "http://testserver<" in content
    assert "http://release-staging.localhost<" in content
    assert content.index("Prequal Staging") < content.index("Release Production")


def test_tam_edits_name_issuer_and_order_and_every_reader_sees_it_at_once(admin_client, tam, staging):
    before = environment_by_id(staging.pk)
    assert before is not None and before.issuer == "http://release-staging.localhost"
    url = reverse("admin:registered_apps_environment_change", args=[staging.pk])
    response = admin_client.post(
        url,
        {"slug": "hijacked", "name": "Release Staging EU", "issuer": "https://staging.example.com/", "order": "35"},
        follow=True,
    )
    assert response.status_code == 200
    staging.refresh_from_db()
    assert (staging.slug, staging.name, staging.issuer, staging.order) == (
        "release-staging",
        "Release Staging EU",
        "https://staging.example.com",
        35,
    )
    # The per-process cache was forgotten: the new issuer signs from now on.
    after = environment_by_id(staging.pk)
    assert after is not None and after.issuer == "https://staging.example.com" and after.name == "Release Staging EU"
    assert "carry the previous issuer" in response.content.decode()
    event = AuditEvent.objects.get(action="environment.change")
    assert event.actor_user == tam
    assert event.details["issuer"] == ["", "https://staging.example.com"]
    assert event.details["name"] == ["Release Staging", "Release Staging EU"]


@pytest.mark.parametrize(
    ("issuer", "message"),
    [
        ("not a url", "is not an http or https URL"),
        ("ftp://staging.example.com", "is not an http or https URL"),
        ("http://testserver", "Release Production already uses the issuer"),
        ("https://staging.example.com/?tenant=1", "An issuer has no query or fragment"),
        ("http://[::1", "is not an http or https URL"),
    ],
)
def test_environment_issuer_must_be_an_url_of_its_own(admin_client, staging, issuer, message):
    url = reverse("admin:registered_apps_environment_change", args=[staging.pk])
    response = admin_client.post(url, {"name": "Release Staging", "issuer": issuer, "order": "30"})
    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors["issuer"])
    staging.refresh_from_db()
    assert staging.issuer == ""
    assert not AuditEvent.objects.filter(action="environment.change").exists()


def test_tam_adds_an_environment_that_serves_its_own_host(admin_client, tam, db):
    response = admin_client.post(
        reverse("admin:registered_apps_environment_add"), {"slug": "qa", "name": "QA", "issuer": "", "order": "50"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = environment_by_slug("qa")
    assert created is not None and created.issuer == "http://qa.localhost" and not created.is_production
    assert AuditEvent.objects.get(action="environment.create").actor_user == tam


def test_an_environment_with_rows_is_not_deleted_and_the_tam_is_told_why(admin_client, programmer, staging_channels):
    staging = Environment.objects.get(slug="release-staging")
    url = reverse("admin:registered_apps_environment_delete", args=[staging.pk])
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert response.status_code == 200
    message = [str(m) for m in response.context["messages"]]
    assert message == ["Release Staging cannot be deleted: it has channel domains, custom schemes."]
    assert Environment.objects.filter(pk=staging.pk).exists()
    assert not AuditEvent.objects.filter(action="environment.delete").exists()


def test_the_production_environment_is_never_deleted(admin_client, production):
    url = reverse("admin:registered_apps_environment_delete", args=[production.pk])
    response = admin_client.post(url, {"post": "yes"}, follow=True)
    assert "is the production environment; it cannot be deleted" in response.content.decode()
    assert Environment.objects.filter(pk=production.pk).exists()


def test_an_unused_environment_is_deleted_through_the_service(admin_client, tam, db):
    unused = Environment.objects.get(slug="prequal-staging")
    url = reverse("admin:registered_apps_environment_delete", args=[unused.pk])
    assert admin_client.get(url).status_code == 200  # Django's confirmation page
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Environment.objects.filter(pk=unused.pk).exists()
    assert environment_by_slug("prequal-staging") is None
    assert AuditEvent.objects.get(action="environment.delete").details["slug"] == "prequal-staging"


def test_environment_list_offers_no_bulk_delete(admin_client, db):
    response = admin_client.get(reverse(ENVIRONMENTS))
    assert "delete_selected" not in response.content.decode()


# --- Registered applications ----------------------------------------------------------------------


def add_form_data(programmer, environment, **overrides):
    data = {
        "programmer": str(programmer.pk),
        "environment": str(environment.pk),
        "level": "programmer",
        "all_channels": "on",
        "name": "Admin made",
        "version": "1.0.0",
        "platforms": [str(p.pk) for p in Platform.objects.filter(code__in=["ios", "web"])],
        "scopes": [str(Scope.objects.get(code="api:client:v2").pk)],
        "redirect_uris": "",
    }
    data.update(overrides)
    return data


def test_add_form_defaults_to_production(admin_client, production):
    response = admin_client.get(reverse("admin:registered_apps_registeredapplication_add"))
    form = response.context["adminform"].form
    assert form["environment"].value() == production.pk
    assert "Release Staging" in response.content.decode()


def test_admin_creates_an_application_in_staging_signed_with_staging_keys(
    admin_client, tam, programmer, staging_channels, staging
):
    channel = staging_channels[0]
    domain = ChannelDomain.objects.get(channel=channel, environment=staging)
    scheme = CustomScheme.objects.get(channel=channel, environment=staging).scheme
    data = add_form_data(
        programmer,
        staging,
        domains=[str(domain.pk)],
        redirect_uris=f"{scheme}://callback\nhttps://{domain.host}/back",
    )
    response = admin_client.post(reverse("admin:registered_apps_registeredapplication_add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    application = RegisteredApplication.objects.get(name="Admin made")
    assert application.environment_id == staging.pk and application.created_by == tam
    assert list(application.domains.all()) == [domain]

    download = admin_client.post(reverse("software_statements:admin_download", args=[application.pk]))
    assert download.status_code == 200
    token = download.content.decode()
    staging_info = environment_by_id(staging.pk)
    verified = software_statement_verify(token, staging_info)
    assert verified.application.pk == application.pk
    assert verified.claims["iss"] == "http://release-staging.localhost"
    staging_kid = SigningKey.objects.get(environment=staging, purpose="statement", state="active").kid
    assert verified.statement.kid == staging_kid
    with pytest.raises(StatementError) as refused:
        software_statement_verify(token)  # production
    assert refused.value.code == "invalid_software_statement"


def test_admin_add_form_refuses_domains_and_schemes_of_another_environment(
    admin_client, programmer, staging_channels, staging, production
):
    channel = staging_channels[0]
    production_domain = ChannelDomain.objects.get(channel=channel, environment=production)
    production_scheme = CustomScheme.objects.get(channel=channel, environment=production).scheme
    data = add_form_data(
        programmer, staging, domains=[str(production_domain.pk)], redirect_uris=f"{production_scheme}://callback"
    )
    response = admin_client.post(reverse("admin:registered_apps_registeredapplication_add"), data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Choose domains of Release Staging" in " ".join(errors["domains"])
    assert "redirect_uris" in errors
    assert not RegisteredApplication.objects.exists()


def test_application_list_shows_and_filters_by_environment(admin_client, programmer, staging_channels, staging):
    make_application(programmer, name="Everywhere prod")
    make_application(programmer, name="Staged", environment=staging)
    response = admin_client.get(reverse(APPLICATIONS))
    content = response.content.decode()
    assert "Release Staging" in content and "Release Production" in content
    assert f"?environment={staging.pk}" in content
    assert {a.name for a in listed(admin_client, APPLICATIONS, environment=staging.pk)} == {"Staged"}
    assert {a.name for a in listed(admin_client, APPLICATIONS, environment=environment_production().id)} == {
        "Everywhere prod"
    }
    # "Show counts" counts each environment's rows.
    with_counts = admin_client.get(reverse(APPLICATIONS), {"_facets": "True"}).content.decode()
    assert "Release Staging (1)" in with_counts and "Release Production (1)" in with_counts
    # A malformed value goes back to the list with ?e=1, as Django answers other bad lookups.
    assert admin_client.get(reverse(APPLICATIONS), {"environment": "x"}).status_code == 302


def test_application_list_query_count_is_the_same_with_the_environment_filter(admin_client, programmer, channels):
    bulk_applications(programmer, channels, 30)

    def count(**params) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(reverse(APPLICATIONS), params)
        assert response.status_code == 200
        return len(queries)

    plain = count()
    assert count(environment=environment_production().id) <= plain + 1
    bulk_applications(programmer, channels, 100)
    assert count(environment=environment_production().id) <= plain + 1


def test_change_page_names_the_environment(admin_client, programmer, staging_channels, staging):
    application = make_application(programmer, environment=staging)
    response = admin_client.get(reverse("admin:registered_apps_registeredapplication_change", args=[application.pk]))
    assert response.status_code == 200 and "Release Staging" in response.content.decode()


# --- Channels: domains, custom schemes, settings ---------------------------------------------------


def test_channel_page_shows_each_domain_and_scheme_with_its_environment(admin_client, staging_channels):
    channel = staging_channels[0]
    response = admin_client.get(reverse("admin:registered_apps_channel_change", args=[channel.pk]))
    content = response.content.decode()
    for scheme in channel.custom_schemes.all():
        assert scheme.scheme in content
    assert content.count("Release Staging") >= 2 and "Release Production" in content
    # An existing domain keeps its environment and host; the empty row offers every environment.
    form = response.context["inline_admin_formsets"][0].formset.forms[0]
    assert form.fields["environment"].disabled and form.fields["host"].disabled
    extra = response.context["inline_admin_formsets"][0].formset.forms[-1]
    assert not extra.instance.pk and [label for _, label in extra.fields["environment"].choices] == [
        "Prequal Staging",
        "Prequal Production",
        "Release Staging",
        "Release Production",
    ]


def test_admin_adds_a_domain_in_the_environment_picked(admin_client, tam, channels, staging):
    channel = channels[0]
    data = channel_change_data(channel)
    data["domains-TOTAL_FORMS"] = str(int(data["domains-TOTAL_FORMS"]) + 1)
    data["domains-1-host"] = "live.example.com"
    data["domains-1-environment"] = str(staging.pk)
    data["domains-1-channel"] = str(channel.pk)
    response = admin_client.post(reverse("admin:registered_apps_channel_change", args=[channel.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    added = ChannelDomain.objects.get(channel=channel, host="live.example.com")
    assert added.environment_id == staging.pk
    event = AuditEvent.objects.get(action="domain.create", object_id=str(added.pk))
    assert event.actor_user == tam and event.details["environment"] == staging.pk


def test_a_new_domain_without_a_picked_environment_is_refused(admin_client, channels):
    channel = channels[0]
    data = channel_change_data(channel)
    data["domains-TOTAL_FORMS"] = str(int(data["domains-TOTAL_FORMS"]) + 1)
    data["domains-1-host"] = "live.example.com"
    data["domains-1-environment"] = "999999"
    data["domains-1-channel"] = str(channel.pk)
    response = admin_client.post(reverse("admin:registered_apps_channel_change", args=[channel.pk]), data)
    assert response.status_code == 200
    assert not ChannelDomain.objects.filter(host="live.example.com").exists()


def test_generate_custom_scheme_actions_one_per_environment(admin_client, channels, staging, production):
    changelist = reverse("admin:registered_apps_channel_changelist")
    page = admin_client.get(changelist).content.decode()
    assert "Generate a new custom scheme in Release Production for the selected channels" in page
    assert 'value="generate_custom_scheme_release-staging"' in page

    channel = channels[1]
    base = {"_selected_action": [str(channel.pk)], "index": "0"}
    assert admin_client.post(changelist, {**base, "action": "generate_custom_scheme"}).status_code == 302
    assert channel.custom_schemes.filter(environment=production).count() == 2
    assert not channel.custom_schemes.filter(environment=staging).exists()
    action = "generate_custom_scheme_release-staging"
    assert admin_client.post(changelist, {**base, "action": action}).status_code == 302
    created = channel.custom_schemes.get(environment=staging)
    assert AuditEvent.objects.get(action="custom_scheme.create", object_id=str(created.pk)).details["environment"] == (
        staging.pk
    )


def test_channel_settings_are_set_at_once_in_the_environment_picked(admin_client, tam, staging_channels, staging):
    channel = staging_channels[0]
    scheme = CustomScheme.objects.get(channel=channel, environment=staging).scheme
    url = reverse("admin:registered_apps_channelsettings_add")
    bad = admin_client.post(
        url,
        {
            "channel": str(channel.pk),
            "environment": str(staging.pk),
            "display_name": "One",
            "default_redirect_url": "https://elsewhere.example.net/cb",
        },
    )
    assert bad.status_code == 200 and "default_redirect_url" in bad.context["adminform"].form.errors
    assert not ChannelSettings.objects.exists()
    good = admin_client.post(
        url,
        {
            "channel": str(channel.pk),
            "environment": str(staging.pk),
            "display_name": "Demo One (staging)",
            "default_redirect_url": f"{scheme}://home",
        },
    )
    assert good.status_code == 302, good.content.decode()[:3000]
    row = ChannelSettings.objects.get()
    assert (row.environment_id, row.display_name, row.default_redirect_url) == (
        staging.pk,
        "Demo One (staging)",
        f"{scheme}://home",
    )
    assert AuditEvent.objects.get(action="channel.settings").actor_user == tam

    listing = "admin:registered_apps_channelsettings_changelist"
    assert [r.pk for r in listed(admin_client, listing, environment=staging.pk)] == [row.pk]
    assert listed(admin_client, listing, environment=environment_production().id) == []
    change = admin_client.post(
        reverse("admin:registered_apps_channelsettings_change", args=[row.pk]),
        {"display_name": "Renamed", "default_redirect_url": ""},
    )
    assert change.status_code == 302
    row.refresh_from_db()
    assert row.display_name == "Renamed" and row.default_redirect_url == "" and row.environment_id == staging.pk


# --- Every list whose rows belong to an environment --------------------------------------------------


@pytest.fixture
def rows_in_two_environments(programmer, staging_channels, staging, rw_user):
    """An application, statement, client, usage row, revocation request and signing keys in production
    and in staging."""
    made = {}
    for environment in (environment_production(), environment_by_id(staging.pk)):
        assert environment is not None
        application = make_application(
            programmer, name=f"App {environment.slug}", environment=Environment.objects.get(pk=environment.id)
        )
        software_statement_issue(application=application, actor="tests")
        Client.objects.create(
            client_id=f"client-{environment.slug}",
            name="device",
            registered_application=application,
            client_type=Client.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Client.GRANT_CLIENT_CREDENTIALS,
            client_secret="not-a-secret",
            hash_client_secret=False,
            platform="ios",
        )
        UsageDaily.objects.create(application=application, day="2026-01-01", platform="ios", tokens=1)
        services.revocation_request_create(application=application, reason="r", actor=rw_user)
        keys.signing_key_active("access_token", environment_id=environment.id)
        made[environment.slug] = application
    return made


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:registered_apps_registeredapplication_changelist",
        "admin:software_statements_softwarestatement_changelist",
        "admin:oauth_client_changelist",
        "admin:software_statements_signingkey_changelist",
        "admin:registered_apps_usagedaily_changelist",
        "admin:registered_apps_revocationrequest_changelist",
    ],
)
def test_every_list_shows_and_filters_by_environment(admin_client, rows_in_two_environments, staging, url_name):
    everything = admin_client.get(reverse(url_name))
    assert everything.status_code == 200
    content = everything.content.decode()
    assert "Release Staging" in content and "Release Production" in content
    assert f"?environment={staging.pk}" in content  # the filter's choice
    in_staging = listed(admin_client, url_name, environment=staging.pk)
    in_production = listed(admin_client, url_name, environment=environment_production().id)
    assert in_staging and in_production
    assert len(in_staging) + len(in_production) == len(everything.context["cl"].result_list)


def test_client_list_environment_filter_reads_the_client_table_with_a_limit(
    admin_client, rows_in_two_environments, staging
):
    """As the fleet tests ask of the unfiltered list: more clients than a page, every read bounded."""
    make_clients(rows_in_two_environments["release-staging"], 150, prefix="staged")
    make_clients(rows_in_two_environments["release-production"], 30, prefix="live")
    with CaptureQueriesContext(connection) as captured:
        page = admin_client.get(reverse("admin:oauth_client_changelist"), {"environment": staging.pk})
    assert page.context["cl"].result_count == 151
    assert all(c.registered_application.environment_id == staging.pk for c in page.context["cl"].result_list)
    reads = [q["sql"] for q in captured.captured_queries if '"oauth_client"' in q["sql"]]
    unbounded = [sql for sql in reads if " LIMIT " not in sql.upper() or "DISTINCT" in sql.upper()]
    assert reads and not unbounded, unbounded


def test_rotate_action_rotates_the_selected_keys_environment_only(admin_client, rows_in_two_environments, staging):
    staging_key = keys.signing_key_active("access_token", environment_id=staging.pk)
    production_key = keys.signing_key_active("access_token")
    response = admin_client.post(
        reverse("admin:software_statements_signingkey_changelist"),
        {"action": "rotate_keys", "_selected_action": [staging_key.pk]},
        follow=True,
    )
    assert "Rotated the keys of Release Staging (Access tokens)" in response.content.decode()
    staging_key.refresh_from_db()
    production_key.refresh_from_db()
    assert staging_key.state == "retiring" and production_key.state == "active"
    assert keys.signing_key_active("access_token", environment_id=staging.pk).environment_id == staging.pk


# --- The changes log ------------------------------------------------------------------------------


@pytest.fixture
def pushes(programmer, channels, staging, rw_user):
    made = []
    for environment in (staging, Environment.objects.get(is_production=True)):
        push = Push.objects.create(
            environment=environment, description=f"Launch in {environment.slug}", pushed_by=rw_user
        )
        push.status = PushStatus.SUCCESSFUL
        push.save(update_fields=["status"])
        PushedChange.objects.create(
            push=push,
            position=1,
            programmer=programmer,
            channel=channels[0],
            kind="domain.add",
            entity_type="domain",
            entity_label="live.example.com",
            properties=[{"property": "host", "old": "", "new": "live.example.com"}],
        )
        made.append(push)
    return made


def test_changes_log_lists_pushes_with_their_environment_read_only(admin_client, pushes, staging):
    url_name = "admin:registered_apps_push_changelist"
    assert [p.description for p in listed(admin_client, url_name, environment=staging.pk)] == [
        "Launch in release-staging"
    ]
    assert len(listed(admin_client, url_name)) == 2
    detail = admin_client.get(reverse("admin:registered_apps_push_change", args=[pushes[0].pk]))
    assert detail.status_code == 200
    content = detail.content.decode()
    assert "live.example.com" in content and "host:  &rarr; live.example.com" in content
    assert 'name="_save"' not in content
    assert admin_client.get(reverse("admin:registered_apps_push_add")).status_code == 403
    delete = reverse("admin:registered_apps_push_delete", args=[pushes[0].pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Push.objects.count() == 2


@pytest.mark.parametrize("model", ["environment", "channelsettings", "push"])
def test_new_admin_pages_render(admin_client, pushes, staging_channels, staging, model):
    services.channel_settings_set(
        channel=staging_channels[0], environment=staging, display_name="x", default_redirect_url="", actor="tests"
    )
    changelist = admin_client.get(reverse(f"admin:registered_apps_{model}_changelist"))
    assert changelist.status_code == 200
    rows = list(changelist.context["cl"].result_list)
    assert rows
    assert admin_client.get(reverse(f"admin:registered_apps_{model}_change", args=[rows[0].pk])).status_code == 200


def test_revocations_in_the_admin_need_no_push(admin_client, tam, programmer, staging_channels, staging):
    """TAM admin stays immediate in every environment: a revocation applies at once."""
    application = make_application(programmer, environment=staging)
    admin_client.post(
        reverse(APPLICATIONS),
        {"action": "revoke_applications", "_selected_action": [str(application.pk)], "confirm": "yes", "reason": "r"},
    )
    application.refresh_from_db()
    assert application.status == "revoked"
    assert not RevocationRequest.objects.exists() and not Push.objects.exists()
