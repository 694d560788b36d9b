"""Services beyond create/revoke/restore: revocation requests, catalogs, domains, memberships, users."""

import pytest
from django.core.exceptions import ValidationError

from registered_apps import services
from registered_apps.models import (
    Access,
    ApplicationStatus,
    AuditEvent,
    ChannelDomain,
    Membership,
    Platform,
    RevocationRequest,
)
from tests.factories import ChannelFactory, ProgrammerFactory, UserFactory, make_application


def actions_on(obj) -> list[str]:
    return list(AuditEvent.objects.filter(object_id=str(obj.pk)).values_list("action", flat=True))


def test_approving_a_request_revokes_the_application_with_its_reason(application, rw_user, tam):
    request = services.revocation_request_create(application=application, reason="Key leaked on a forum", actor=rw_user)
    services.revocation_request_approve(revocation_request=request, actor=tam, ip_address="10.0.0.1")
    application.refresh_from_db()
    request.refresh_from_db()
    assert application.status == ApplicationStatus.REVOKED
    assert application.revocation_reason == "Key leaked on a forum"
    assert application.revoked_by == tam
    assert request.state == RevocationRequest.State.APPROVED and request.decided_by == tam
    revoke = AuditEvent.objects.get(action="application.revoke", object_id=str(application.pk))
    assert revoke.actor_user == tam and revoke.ip_address == "10.0.0.1"


def test_approving_a_request_for_an_application_revoked_meanwhile_only_closes_the_request(application, rw_user, tam):
    request = services.revocation_request_create(application=application, reason="old build", actor=rw_user)
    services.registered_application_revoke(application=application, reason="TAM acted first", actor=tam)
    request.refresh_from_db()
    # The revocation closed the pending request already.
    assert request.state == RevocationRequest.State.APPROVED
    services.revocation_request_approve(revocation_request=request, actor=tam)
    application.refresh_from_db()
    assert application.revocation_reason == "TAM acted first"
    assert actions_on(application).count("application.revoke") == 1


def test_dismissing_a_request_leaves_the_application_active(application, rw_user, tam):
    request = services.revocation_request_create(application=application, reason="please", actor=rw_user)
    services.revocation_request_dismiss(revocation_request=request, actor=tam)
    request.refresh_from_db()
    application.refresh_from_db()
    assert request.state == RevocationRequest.State.DISMISSED and request.decided_by == tam
    assert application.status == ApplicationStatus.ACTIVE
    assert "application.revocation_request_dismiss" in actions_on(application)
    # A decided request cannot be approved afterwards.
    services.revocation_request_approve(revocation_request=request, actor=tam)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.ACTIVE


def test_a_revocation_request_needs_a_reason_and_an_active_application(application, rw_user, tam):
    with pytest.raises(ValidationError):
        services.revocation_request_create(application=application, reason=" ", actor=rw_user)
    with pytest.raises(ValidationError):
        services.revocation_request_create(application=application, reason="x" * 2001, actor=rw_user)
    services.registered_application_revoke(application=application, reason="done", actor=tam)
    with pytest.raises(ValidationError):
        services.revocation_request_create(application=application, reason="again", actor=rw_user)
    assert not RevocationRequest.objects.exists()


def test_revoking_twice_keeps_the_first_revocation(application, tam):
    services.registered_application_revoke(application=application, reason="first", actor=tam)
    services.registered_application_revoke(application=application, reason="second", actor="tests")
    application.refresh_from_db()
    assert application.revocation_reason == "first" and application.revoked_by == tam
    assert actions_on(application).count("application.revoke") == 1


def test_retiring_a_catalog_entry_is_audited_and_stops_new_applications_using_it(programmer, channels, tam):
    roku = Platform.objects.get(code="roku")
    services.catalog_entry_set_active(entry=roku, active=False, actor=tam)
    assert not Platform.objects.get(code="roku").active
    assert actions_on(roku) == ["platform.retire"]
    with pytest.raises(ValidationError):
        make_application(programmer, platforms=["roku"])
    services.catalog_entry_set_active(entry=roku, active=True, actor=tam)
    assert make_application(programmer, platforms=["roku"]).platforms.get().code == "roku"


def test_adding_a_catalog_entry_validates_it(tam):
    services.catalog_entry_save(entry=Platform(code="steamdeck", name="Steam Deck"), actor=tam)
    assert Platform.objects.get(code="steamdeck").active
    with pytest.raises(ValidationError):
        services.catalog_entry_save(entry=Platform(code="steamdeck", name="Again"), actor=tam)
    with pytest.raises(ValidationError):
        services.catalog_entry_save(entry=Platform(code="not a slug", name="x"), actor=tam)
    assert Platform.objects.filter(code__in=["steamdeck", "not a slug"]).count() == 1


def test_a_removed_domain_is_taken_from_the_applications_that_used_it(programmer, channels, tam):
    used = channels[0].domains.get()
    application = make_application(programmer, domains=[used.host])
    services.channel_domain_remove(domain=used, actor=tam)
    assert not application.domains.exists()
    event = AuditEvent.objects.get(action="domain.delete", details__host=used.host)
    assert event.details["applications"] == [str(application.pk)]
    unused = channels[1].domains.get()
    services.channel_domain_remove(domain=unused, actor=tam)
    assert not ChannelDomain.objects.filter(pk=unused.pk).exists()
    assert AuditEvent.objects.filter(action="domain.delete", details__host=unused.host).exists()


def test_a_channel_gets_a_generated_custom_scheme(programmer, tam):
    channel = services.channel_create(programmer=programmer, slug="fresh", name="Fresh", actor=tam)
    scheme = channel.custom_schemes.get().scheme
    assert scheme.startswith("adbe.u-") and len(scheme) == len("adbe.u-") + 22
    second = services.custom_scheme_create(channel=channel, actor=tam)
    assert second.scheme != scheme


def test_requestor_ids_are_unique_across_programmers(programmer, channels, tam):
    with pytest.raises(ValidationError):
        services.channel_create(programmer=ProgrammerFactory(), slug="demo-one", name="Clash", actor=tam)


def test_membership_set_replaces_access_and_channels_and_refuses_foreign_channels(programmer, channels, tam):
    user = UserFactory(username="member")
    services.membership_set(user=user, programmer=programmer, access=Access.READ_ONLY, actor=tam)
    services.membership_set(
        user=user, programmer=programmer, access=Access.READ_WRITE, channels=[channels[1]], actor=tam
    )
    membership = Membership.objects.get(user=user)
    assert membership.access == Access.READ_WRITE and list(membership.channels.all()) == [channels[1]]
    foreign = ChannelFactory(programmer=ProgrammerFactory(), slug="foreign")
    with pytest.raises(ValidationError):
        services.membership_set(
            user=user, programmer=programmer, access=Access.READ_WRITE, channels=[foreign], actor=tam
        )
    with pytest.raises(ValidationError):
        services.membership_set(user=user, programmer=programmer, access="owner", actor=tam)
    assert list(Membership.objects.get(user=user).channels.all()) == [channels[1]]


def test_dashboard_user_set_validates_passwords_and_never_records_them(tam, db):
    with pytest.raises(ValidationError):
        services.dashboard_user_set(username="weak", password="password", actor=tam)
    user, created = services.dashboard_user_set(username="strong", password="quartz-meadow-91", actor=tam)
    assert created and user.check_password("quartz-meadow-91")
    event = AuditEvent.objects.get(action="user.create")
    assert "quartz-meadow-91" not in str(event.details)
    assert not type(user).objects.filter(username="weak").exists()
