"""Pending changes, pushes and promotions (services.changes): staging checks a change as its push will,
a push applies all or nothing and is logged, a push can be promoted to another environment."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from registered_apps import selectors, services
from registered_apps.models import (
    Access,
    AuditEvent,
    Channel,
    ChannelDomain,
    ChannelSettings,
    CustomScheme,
    Environment,
    Membership,
    PendingChange,
    Push,
    PushedChange,
    PushStatus,
    RegisteredApplication,
)
from registered_apps.push_failures import failure_text
from registered_apps.services import changes
from registered_apps.services.changes import pushing
from tests.factories import ChannelFactory, ProgrammerFactory, UserFactory, make_application, member
from tests.helpers import push_all

pytestmark = pytest.mark.django_db


def spec(programmer, environment, **overrides):
    options = {
        "programmer": programmer,
        "level": "programmer",
        "all_channels": True,
        "platforms": ["ios"],
        "scopes": ["api:client:v2"],
        "name": "Player",
        "environment": environment,
    }
    options.update(overrides)
    return services.ApplicationSpec(**options)


def stage_application(user, environment, programmer, **overrides):
    return changes.application_create_stage(
        user=user, environment=environment, spec=spec(programmer, environment, **overrides)
    )


# --- Staging ---------------------------------------------------------------------------------------


def test_staging_an_application_creates_nothing_until_the_push(rw_user, programmer, channels, staging):
    change = stage_application(rw_user, staging, programmer)
    assert change.kind == "application.create" and change.environment == staging
    assert change.payload["all_channels"] is True and change.payload["platforms"] == ["ios"]
    assert not RegisteredApplication.objects.exists()

    push = push_all(rw_user, staging, "First player")
    application = RegisteredApplication.objects.get()
    assert application.environment == staging and application.created_by == rw_user
    assert push.status == PushStatus.SUCCESSFUL and push.description == "First player" and push.pushed_by == rw_user
    logged = PushedChange.objects.get(push=push)
    assert logged.entity_type == "Registered application" and logged.entity_id == str(application.pk)
    assert logged.entity_label == "Player 1.0.0" and logged.all_channels
    assert {"property": "Name", "old": None, "new": "Player"} in logged.properties
    assert not PendingChange.objects.exists()
    event = AuditEvent.objects.get(action="push")
    assert event.details["push"] == push.pk and event.details["environment"] == "release-staging"
    assert event.details["count"] == 1 and event.programmer == programmer
    # The application's own creation event is written by the same transaction.
    assert AuditEvent.objects.filter(action="application.create", object_id=str(application.pk)).exists()


def test_staging_checks_the_application_with_the_services_rules(rw_user, programmer, channels, staging):
    with pytest.raises(ValidationError) as caught:
        stage_application(rw_user, staging, programmer, name="", platforms=["web"], scopes=[])
    assert {"name", "scopes", "domains"} <= set(caught.value.message_dict)
    assert not PendingChange.objects.exists()


def test_staging_the_same_name_and_version_twice_is_refused(rw_user, programmer, channels, staging):
    stage_application(rw_user, staging, programmer)
    with pytest.raises(ValidationError) as caught:
        stage_application(rw_user, staging, programmer)
    assert "already has an application named “Player” at version 1.0.0" in str(caught.value)
    assert PendingChange.objects.count() == 1


def test_name_and_version_are_free_again_in_another_environment(rw_user, programmer, channels, staging):
    make_application(programmer, name="Player")  # production
    stage_application(rw_user, staging, programmer)
    push_all(rw_user, staging)
    assert sorted(RegisteredApplication.objects.values_list("environment__slug", flat=True)) == [
        "release-production",
        "release-staging",
    ]


def test_an_application_may_use_a_domain_and_scheme_still_pending(rw_user, programmer, channels, staging):
    """Staging rehearses the changes already waiting: a domain staged first can be used next."""
    one = channels[0]
    changes.channel_domain_add_stage(user=rw_user, environment=staging, channel=one, host="Watch.Staging.Example.com.")
    scheme = changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=one).payload["scheme"]
    stage_application(
        rw_user,
        staging,
        programmer,
        all_channels=False,
        channels=[one],
        platforms=["web", "ios"],
        domains=["watch.staging.example.com"],
        redirect_uris=["https://watch.staging.example.com/cb", f"{scheme}://login"],
    )
    assert not ChannelDomain.objects.filter(environment=staging).exists()  # the rehearsal rolled back
    push_all(rw_user, staging)
    application = RegisteredApplication.objects.get()
    assert [d.host for d in application.domains.all()] == ["watch.staging.example.com"]
    assert application.domains.get().environment == staging
    assert CustomScheme.objects.get(environment=staging, scheme=scheme).channel == one


def test_staging_refuses_what_the_member_may_not_change(ro_user, channel_user, programmer, channels, staging):
    with pytest.raises(PermissionDenied):
        stage_application(ro_user, staging, programmer)
    with pytest.raises(PermissionDenied):
        changes.channel_domain_add_stage(user=ro_user, environment=staging, channel=channels[0], host="a.example.com")
    with pytest.raises(PermissionDenied):
        changes.custom_scheme_create_stage(user=channel_user, environment=staging, channel=channels[1])
    with pytest.raises(PermissionDenied):
        changes.channel_create_stage(
            user=channel_user, environment=staging, programmer=programmer, slug="demo-new", name="New"
        )
    # Their own channel is theirs to change.
    changes.custom_scheme_create_stage(user=channel_user, environment=staging, channel=channels[0])
    assert PendingChange.objects.count() == 1


def test_a_domain_is_checked_when_staged(rw_user, channels, staging):
    with pytest.raises(ValidationError) as caught:
        changes.channel_domain_add_stage(user=rw_user, environment=staging, channel=channels[0], host="not a host")
    assert "host" in caught.value.message_dict
    # The fixture's domain is production's: staging has none until one is pushed there.
    production_host = channels[0].domains.get().host
    with pytest.raises(ValidationError, match="already has the domain"):
        changes.channel_domain_add_stage(
            user=rw_user,
            environment=Environment.objects.get(is_production=True),
            channel=channels[0],
            host=production_host,
        )
    with pytest.raises(ValidationError, match="has no domain"):
        changes.channel_domain_remove_stage(
            user=rw_user, environment=staging, channel=channels[0], host=production_host
        )


def test_channel_settings_edits_replace_each_other_and_a_return_to_the_current_ones_drops_them(
    rw_user, channels, staging
):
    one = channels[0]
    changes.channel_settings_stage(
        user=rw_user, environment=staging, channel=one, display_name="Demo One TV", default_redirect_url=""
    )
    changes.channel_settings_stage(
        user=rw_user, environment=staging, channel=one, display_name="Demo One Plus", default_redirect_url=""
    )
    assert list(PendingChange.objects.values_list("payload__display_name", flat=True)) == ["Demo One Plus"]
    assert (
        changes.channel_settings_stage(
            user=rw_user, environment=staging, channel=one, display_name=one.name, default_redirect_url=""
        )
        is None
    )
    assert not PendingChange.objects.exists()
    with pytest.raises(ValidationError, match="already the settings"):
        changes.channel_settings_stage(
            user=rw_user, environment=staging, channel=one, display_name=one.name, default_redirect_url=""
        )
    with pytest.raises(ValidationError) as caught:
        changes.channel_settings_stage(
            user=rw_user,
            environment=staging,
            channel=one,
            display_name="Demo",
            default_redirect_url="https://nowhere.example.com/",
        )
    assert "default_redirect_url" in caught.value.message_dict


def test_pushed_channel_settings_record_old_and_new_values(rw_user, channels, staging):
    one = channels[0]
    changes.channel_domain_add_stage(user=rw_user, environment=staging, channel=one, host="tv.example.com")
    changes.channel_settings_stage(
        user=rw_user,
        environment=staging,
        channel=one,
        display_name="Demo One TV",
        default_redirect_url="https://tv.example.com/home",
    )
    push = push_all(rw_user, staging)
    settings_row = ChannelSettings.objects.get(channel=one, environment=staging)
    assert (settings_row.display_name, settings_row.default_redirect_url) == (
        "Demo One TV",
        "https://tv.example.com/home",
    )
    logged = push.changes.get(kind="channel.settings")
    assert logged.entity_type == "Channel" and logged.entity_id == one.slug and logged.channel == one
    assert logged.properties == [
        {"property": "Display name", "old": one.name, "new": "Demo One TV"},
        {"property": "Default redirect URL", "old": None, "new": "https://tv.example.com/home"},
    ]
    # Production's settings are untouched.
    assert not ChannelSettings.objects.filter(channel=one, environment__is_production=True).exists()


def test_a_new_channel_is_pushed_with_the_scheme_the_person_saw(rw_user, programmer, channels, staging):
    change = changes.channel_create_stage(
        user=rw_user, environment=staging, programmer=programmer, slug="demo-four", name="Demo Four"
    )
    scheme = change.payload["scheme"]
    assert scheme.startswith("adbe.u-") and not Channel.objects.filter(slug="demo-four").exists()
    push_all(rw_user, staging)
    channel = Channel.objects.get(slug="demo-four")
    assert channel.programmer == programmer and channel.name == "Demo Four"
    assert list(channel.custom_schemes.values_list("environment__slug", "scheme")) == [("release-staging", scheme)]


def test_a_requestor_id_of_another_programmer_is_refused_when_staged(rw_user, programmer, channels, staging):
    ChannelFactory(programmer=ProgrammerFactory(slug="elsewhere"), slug="taken-id")
    with pytest.raises(ValidationError, match="taken"):
        changes.channel_create_stage(
            user=rw_user, environment=staging, programmer=programmer, slug="taken-id", name="Mine"
        )
    with pytest.raises(ValidationError) as caught:
        changes.channel_create_stage(user=rw_user, environment=staging, programmer=programmer, slug="", name="")
    assert set(caught.value.message_dict) == {"slug", "name"}


def test_a_pushed_domain_deletion_takes_the_domain_from_its_applications(rw_user, programmer, channels, production):
    one = channels[0]
    host = one.domains.get().host
    application = make_application(
        programmer, name="Web", all_channels=False, channels=[one], platforms=["web"], domains=[host]
    )
    changes.channel_domain_remove_stage(user=rw_user, environment=production, channel=one, host=host)
    assert application.domains.exists()
    push = push_all(rw_user)
    assert not application.domains.exists() and not ChannelDomain.objects.filter(host=host).exists()
    logged = push.changes.get()
    assert logged.properties == [
        {"property": "Host", "old": host, "new": None},
        {"property": "Used by applications", "old": "Web 1.0.0", "new": None},
    ]


# --- All or nothing --------------------------------------------------------------------------------


def test_a_push_with_one_failing_change_applies_nothing(rw_user, programmer, channels, staging, tam):
    one, two = channels[0], channels[1]
    services.channel_domain_add(channel=two, host="gone.example.com", actor=tam, environment=staging)
    changes.channel_domain_add_stage(user=rw_user, environment=staging, channel=one, host="new.example.com")
    stage_application(rw_user, staging, programmer, name="Before the failure")
    changes.channel_domain_remove_stage(user=rw_user, environment=staging, channel=two, host="gone.example.com")
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=one)
    # Meanwhile a TAM deletes the domain the third change deletes.
    services.channel_domain_remove(domain=ChannelDomain.objects.get(host="gone.example.com"), actor=tam)
    schemes_before = CustomScheme.objects.count()

    push = changes.pending_changes_push(user=rw_user, environment=staging, description="Three things")

    assert push.status == PushStatus.FAILED
    assert failure_text(push.failure).startswith("Change 3 of 4 (Delete domain gone.example.com of channel demo-two): ")
    assert "has no domain gone.example.com" in failure_text(push.failure)
    # Nothing of the first two changes (nor the fourth) exists.
    assert not RegisteredApplication.objects.exists()
    assert not ChannelDomain.objects.filter(host="new.example.com").exists()
    assert CustomScheme.objects.count() == schemes_before
    assert not AuditEvent.objects.filter(
        actor_user=rw_user, action__in=["application.create", "domain.create", "custom_scheme.create", "push"]
    ).exists()
    # The pending changes wait to be fixed or dismissed; the log shows what was attempted.
    assert PendingChange.objects.filter(user=rw_user, environment=staging).count() == 4
    attempted = list(push.changes.order_by("position"))
    assert [c.kind for c in attempted] == [
        "domain.add",
        "application.create",
        "domain.delete",
        "custom_scheme.generate",
    ]
    assert all(c.entity_id == "" for c in attempted)
    assert attempted[1].entity_label == "Before the failure 1.0.0"
    assert AuditEvent.objects.get(action="push.failed").details["failure"] == failure_text(push.failure)

    # Removing the change that no longer applies lets the rest through.
    stale = PendingChange.objects.get(kind="domain.delete")
    changes.pending_change_remove(user=rw_user, change_id=stale.pk)
    assert push_all(rw_user, staging).changes.count() == 3
    assert RegisteredApplication.objects.get().name == "Before the failure"


def test_a_name_taken_meanwhile_fails_the_push(rw_user, programmer, channels, staging):
    stage_application(rw_user, staging, programmer)
    make_application(programmer, name="Player", environment=staging)
    push = changes.pending_changes_push(user=rw_user, environment=staging, description="Late")
    assert push.status == PushStatus.FAILED
    assert "Change 1 of 1 (Create registered application Player 1.0.0)" in failure_text(push.failure)
    assert "already has an application" in failure_text(push.failure)
    assert RegisteredApplication.objects.count() == 1


def test_a_member_who_lost_write_access_pushes_nothing(rw_user, programmer, channels, staging):
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[0])
    Membership.objects.filter(user=rw_user).update(access=Access.READ_ONLY)
    push = changes.pending_changes_push(user=rw_user, environment=staging, description="Too late")
    assert push.status == PushStatus.FAILED and "no write access" in failure_text(push.failure)
    assert not CustomScheme.objects.filter(environment=staging).exists()


def test_a_push_needs_a_description_pending_changes_and_the_reviewed_ones(rw_user, programmer, channels, staging):
    with pytest.raises(ValidationError, match="no pending changes"):
        changes.pending_changes_push(user=rw_user, environment=staging, description="Nothing")
    change = changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[0])
    with pytest.raises(ValidationError) as caught:
        changes.pending_changes_push(user=rw_user, environment=staging, description="   ")
    assert "description" in caught.value.message_dict
    with pytest.raises(ValidationError, match="review them again"):
        changes.pending_changes_push(user=rw_user, environment=staging, description="x", reviewed=[change.pk + 1])
    assert not Push.objects.exists()
    push = changes.pending_changes_push(user=rw_user, environment=staging, description="x", reviewed=[change.pk])
    assert push.status == PushStatus.SUCCESSFUL


def test_pending_changes_are_per_user_and_environment(rw_user, programmer, channels, staging, production):
    other = UserFactory(username="rw-two")
    member(other, programmer, Access.READ_WRITE)
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[0])
    changes.custom_scheme_create_stage(user=other, environment=staging, channel=channels[0])
    changes.custom_scheme_create_stage(user=rw_user, environment=production, channel=channels[0])
    push = push_all(rw_user, staging)
    assert push.changes.count() == 1
    assert PendingChange.objects.filter(user=other, environment=staging).count() == 1
    assert PendingChange.objects.filter(user=rw_user, environment=production).count() == 1


def test_dismiss_drops_every_pending_change_and_is_audited(rw_user, programmer, channels, staging):
    stage_application(rw_user, staging, programmer)
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[0])
    assert changes.pending_changes_dismiss(user=rw_user, environment=staging, ip_address="10.1.2.3") == 2
    assert not PendingChange.objects.exists() and not RegisteredApplication.objects.exists()
    event = AuditEvent.objects.get(action="pending_changes.dismiss")
    assert event.details["count"] == 2 and event.ip_address == "10.1.2.3" and event.actor_user == rw_user
    assert changes.pending_changes_dismiss(user=rw_user, environment=staging) == 0


def test_a_pending_change_of_someone_else_cannot_be_removed(rw_user, ro_user, channels, staging):
    change = changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[0])
    with pytest.raises(PendingChange.DoesNotExist):
        changes.pending_change_remove(user=ro_user, change_id=change.pk)
    assert PendingChange.objects.filter(pk=change.pk).exists()


# --- Promote ---------------------------------------------------------------------------------------


def test_a_promoted_push_is_staged_in_the_target_and_pushed_there(rw_user, programmer, channels, staging, production):
    one = channels[0]
    changes.channel_create_stage(
        user=rw_user, environment=staging, programmer=programmer, slug="demo-four", name="Demo Four"
    )
    changes.channel_domain_add_stage(user=rw_user, environment=staging, channel=one, host="tv.example.com")
    scheme = changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=one).payload["scheme"]
    stage_application(
        rw_user,
        staging,
        programmer,
        all_channels=False,
        channels=[one],
        platforms=["web"],
        domains=["tv.example.com"],
        redirect_uris=["https://tv.example.com/cb", f"{scheme}://cb"],
    )
    first = push_all(rw_user, staging, "Staging first")
    staged_app = RegisteredApplication.objects.get(environment=staging)

    promoted = changes.push_promote(push=first, target_environment=production, user=rw_user, ip_address="10.0.0.9")
    assert len(promoted) == 4
    assert all(c.environment == production and c.promoted_from == first for c in promoted)
    assert [c.payload for c in promoted] == [c.payload for c in first.changes.order_by("position")]
    assert AuditEvent.objects.get(action="push.promote").details["environment"] == "release-production"

    second = push_all(rw_user, production, "Then production")
    assert second.promoted_from == first
    in_production = RegisteredApplication.objects.get(environment=production)
    assert in_production.pk != staged_app.pk and in_production.name == staged_app.name
    assert in_production.domains.get().environment == production
    assert CustomScheme.objects.filter(scheme=scheme).count() == 2  # the same value in both environments
    four = Channel.objects.get(slug="demo-four")
    assert set(four.custom_schemes.values_list("environment__slug", flat=True)) == {
        "release-staging",
        "release-production",
    }
    # The channel existed already: production gets its custom scheme, nothing else.
    logged = second.changes.get(kind="channel.create")
    assert [item["property"] for item in logged.properties] == ["Custom scheme"]


def test_promote_refuses_the_same_environment_a_failed_push_and_read_only_users(
    rw_user, ro_user, programmer, channels, staging, production
):
    stage_application(rw_user, staging, programmer)
    good = push_all(rw_user, staging)
    with pytest.raises(ValidationError, match="already in Release Staging"):
        changes.push_promote(push=good, target_environment=staging, user=rw_user)
    with pytest.raises(PermissionDenied):
        changes.push_promote(push=good, target_environment=production, user=ro_user)
    stage_application(rw_user, staging, programmer, name="Second")
    make_application(programmer, name="Second", environment=staging)  # taken meanwhile: the push fails
    bad = changes.pending_changes_push(user=rw_user, environment=staging, description="dup")
    assert bad.status == PushStatus.FAILED
    with pytest.raises(ValidationError, match="successful"):
        changes.push_promote(push=bad, target_environment=production, user=rw_user)
    assert not PendingChange.objects.filter(environment=production).exists()


def test_problems_of_promoted_changes_are_told_before_the_push(rw_user, programmer, channels, staging, production):
    stage_application(rw_user, staging, programmer)
    push = push_all(rw_user, staging)
    make_application(programmer, name="Player")  # production has it already
    changes.push_promote(push=push, target_environment=production, user=rw_user)
    problems = changes.pending_changes_problems(user=rw_user, environment=production)
    assert len(problems) == 1 and problems[0].startswith("Change 1 of 1 (Create registered application Player")
    assert RegisteredApplication.objects.count() == 2  # the rehearsal rolled back


# --- The changes log: visibility and compare -------------------------------------------------------


def test_a_channel_member_sees_only_the_pushed_changes_about_their_channels(
    rw_user, channel_user, programmer, channels, staging
):
    one, two = channels[0], channels[1]
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=one)
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=two)
    stage_application(rw_user, staging, programmer, name="Everywhere")
    stage_application(rw_user, staging, programmer, name="On two", all_channels=False, channels=[two])
    push_all(rw_user, staging)
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=two)
    only_two = push_all(rw_user, staging)

    seen = selectors.pushed_changes_visible_in(channel_user, programmer)
    assert sorted(c.entity_label.split(" (")[0] for c in seen if c.entity_type != "Custom scheme") == [
        "Everywhere 1.0.0"
    ]
    assert sum(1 for c in seen if c.entity_type == "Custom scheme") == 1
    assert only_two not in selectors.pushes_visible_in(channel_user, programmer)
    assert only_two in selectors.pushes_visible_in(rw_user, programmer)
    # The channel page of demo-two, for a programmer-wide member, shows both pushes.
    assert selectors.pushes_visible_in(rw_user, programmer, two).count() == 2
    assert selectors.pushes_visible_in(rw_user, programmer, channels[2]).count() == 1  # the all-channels app


def test_compare_folds_the_pushes_between_two_entries(rw_user, programmer, channels, staging):
    one = channels[0]

    def settings(name):
        changes.channel_settings_stage(
            user=rw_user, environment=staging, channel=one, display_name=name, default_redirect_url=""
        )

    settings("Name A")
    first = push_all(rw_user, staging, "A")
    settings("Name B")
    changes.channel_domain_add_stage(user=rw_user, environment=staging, channel=one, host="tmp.example.com")
    push_all(rw_user, staging, "B")
    settings("Name C")
    changes.channel_domain_remove_stage(user=rw_user, environment=staging, channel=one, host="tmp.example.com")
    changes.channel_domain_add_stage(user=rw_user, environment=staging, channel=one, host="kept.example.com")
    last = push_all(rw_user, staging, "C")

    rows = selectors.pushes_compare(rw_user, programmer, None, last, first)
    summary = {(r.entity_type, r.property): (r.old, r.new) for r in rows}
    # From after A: the name went B then C (old: A), the temporary domain came and went (left out).
    assert summary == {
        ("Channel", "Display name"): ("Name A", "Name C"),
        ("Domain", "Host"): (None, "kept.example.com"),
    }
    assert selectors.pushes_compare(rw_user, programmer, None, first, first) == []


def test_a_push_is_in_the_log_as_pending_with_its_changes_before_they_apply(
    monkeypatch, rw_user, programmer, channels, staging
):
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[0])
    seen = []
    real_apply = pushing.change_apply

    def watching(change, run):
        push = Push.objects.get()
        seen.append((push.status, [(c.kind, c.entity_id) for c in push.changes.all()]))
        return real_apply(change, run)

    monkeypatch.setattr(pushing, "change_apply", watching)
    push = push_all(rw_user, staging)
    assert seen == [(PushStatus.PENDING, [("custom_scheme.generate", "")])]
    # Once applied, the log's row has the scheme's id.
    assert push.changes.get().entity_id == str(CustomScheme.objects.get(environment=staging).pk)


def test_an_unexpected_error_fails_the_push_and_is_raised(monkeypatch, rw_user, programmer, channels, staging):
    changes.custom_scheme_create_stage(user=rw_user, environment=staging, channel=channels[0])

    def broken(change, run):
        raise RuntimeError("a bug")

    monkeypatch.setattr(pushing, "change_apply", broken)
    with pytest.raises(RuntimeError):
        changes.pending_changes_push(user=rw_user, environment=staging, description="Boom")
    push = Push.objects.get()
    assert push.status == PushStatus.FAILED and "unexpected error" in failure_text(push.failure)
    assert push.changes.count() == 1 and PendingChange.objects.count() == 1
