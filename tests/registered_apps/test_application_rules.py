"""The rules a new registered application must satisfy, in the service and in the database."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from registered_apps import services
from registered_apps.models import (
    AuditEvent,
    ChannelDomain,
    CustomScheme,
    Platform,
    RegisteredApplication,
    Scope,
)
from tests.factories import ChannelFactory, ProgrammerFactory, make_application


def refused(programmer, field: str, **overrides) -> list[str]:
    """Create must fail naming `field`, and leave no application and no audit event behind."""
    apps_before, events_before = RegisteredApplication.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        make_application(programmer, **overrides)
    assert field in excinfo.value.message_dict, excinfo.value.message_dict
    assert RegisteredApplication.objects.count() == apps_before
    assert AuditEvent.objects.count() == events_before
    return excinfo.value.message_dict[field]


def scheme_of(channel) -> str:
    return channel.custom_schemes.first().scheme


def host_of(channel) -> str:
    return channel.domains.first().host


def test_web_platform_needs_a_domain(programmer, channels):
    refused(programmer, "domains", platforms=["web"])
    app = make_application(programmer, platforms=["web"], domains=[host_of(channels[0])])
    assert [d.host for d in app.domains.all()] == [host_of(channels[0])]


def test_redirect_uri_with_a_custom_scheme_of_the_application_channels_is_accepted(programmer, channels):
    uri = f"{scheme_of(channels[1])}://auth/callback"
    app = make_application(programmer, redirect_uris=[uri])
    assert app.redirect_uris == [uri]


def test_generated_custom_schemes_with_uppercase_and_underscore_are_accepted(programmer, channels):
    # urlsplit lowercases schemes and does not accept "_" in them; generated schemes have both.
    CustomScheme.objects.create(channel=channels[0], scheme="adbe.u-AbC_dEf-GhIjKlMnOpQrSt")
    app = make_application(programmer, redirect_uris=["adbe.u-AbC_dEf-GhIjKlMnOpQrSt://callback"])
    assert app.redirect_uris == ["adbe.u-AbC_dEf-GhIjKlMnOpQrSt://callback"]


def test_custom_scheme_of_a_channel_outside_the_application_is_refused(programmer, channels):
    refused(
        programmer,
        "redirect_uris",
        all_channels=False,
        channels=[channels[0]],
        redirect_uris=[f"{scheme_of(channels[1])}://callback"],
    )


def test_custom_scheme_of_another_programmer_is_refused(programmer, channels):
    foreign = ChannelFactory(programmer=ProgrammerFactory(), slug="foreign")
    refused(programmer, "redirect_uris", redirect_uris=[f"{scheme_of(foreign)}://callback"])


def test_https_redirect_uri_on_one_of_the_application_domains_is_accepted(programmer, channels):
    host = host_of(channels[0])
    app = make_application(programmer, domains=[host], redirect_uris=[f"https://{host}/callback?x=1"])
    assert app.redirect_uris == [f"https://{host}/callback?x=1"]


@pytest.mark.parametrize(
    "uri",
    [
        "https://evil.example.net/callback",
        "http://watch.demo-one.example.com/callback",
        "https://user:pw@watch.demo-one.example.com/callback",
        "https://watch.demo-one.example.com/callback#fragment",
        "https://watch.demo-one.example.com.evil.net/",
        "javascript:alert(1)",
        "ftp://watch.demo-one.example.com/",
        "https://watch.demo-one.example.com/ spaces",
        "",
        "https://[::1",
    ],
)
def test_other_redirect_uris_are_refused(programmer, channels, uri):
    refused(programmer, "redirect_uris", domains=["watch.demo-one.example.com"], redirect_uris=[uri])


def test_https_redirect_uri_on_a_channel_domain_the_application_did_not_choose_is_refused(programmer, channels):
    refused(
        programmer,
        "redirect_uris",
        domains=[host_of(channels[0])],
        redirect_uris=[f"https://{host_of(channels[1])}/callback"],
    )


def test_domains_must_belong_to_the_application_channels(programmer, channels):
    refused(programmer, "domains", all_channels=False, channels=[channels[0]], domains=[host_of(channels[1])])
    foreign = ChannelFactory(programmer=ProgrammerFactory(), slug="foreign")
    refused(programmer, "domains", domains=[host_of(foreign)])
    refused(programmer, "domains", domains=["never-registered.example.com"])


def test_at_least_one_platform_and_one_scope(programmer, channels):
    refused(programmer, "platforms", platforms=[])
    refused(programmer, "scopes", scopes=[])


def test_retired_or_unknown_catalog_entries_are_refused(programmer, channels):
    Platform.objects.filter(code="roku").update(active=False)
    Scope.objects.filter(code="api:client:v1").update(active=False)
    assert "roku" in refused(programmer, "platforms", platforms=["ios", "roku"])[0]
    refused(programmer, "platforms", platforms=["betamax"])
    assert "api:client:v1" in refused(programmer, "scopes", scopes=["api:client:v1"])[0]
    refused(programmer, "scopes", scopes=["admin:everything"])


def test_existing_applications_keep_an_entry_retired_after_their_creation(programmer, channels):
    app = make_application(programmer, platforms=["roku"])
    Platform.objects.filter(code="roku").update(active=False)
    assert [p.code for p in app.platforms.all()] == ["roku"]


def test_name_and_version_are_unique_per_programmer(programmer, channels):
    make_application(programmer, name="Player", version="2.0.0")
    refused(programmer, "version", name="Player", version="2.0.0")
    refused(programmer, "version", name="  Player ", version="2.0.0")
    assert make_application(programmer, name="Player", version="2.1.0").version == "2.1.0"
    other = ProgrammerFactory()
    assert make_application(other, name="Player", version="2.0.0").programmer == other


def test_name_is_required_and_version_defaults(programmer, channels):
    refused(programmer, "name", name="   ")
    assert make_application(programmer, name="No version", version="").version == "1.0.0"
    refused(programmer, "version", name="Spaced", version="1 0")


def test_channel_level_application_needs_its_own_channel_and_nothing_else(programmer, channels):
    refused(programmer, "channel", level="channel", all_channels=False)
    refused(programmer, "channels", level="channel", all_channels=True, channel=channels[0])
    refused(programmer, "channels", level="channel", all_channels=False, channel=channels[0], channels=[channels[1]])
    foreign = ChannelFactory(programmer=ProgrammerFactory(), slug="foreign")
    refused(programmer, "channel", level="channel", all_channels=False, channel=foreign)
    app = make_application(programmer, level="channel", all_channels=False, channel=channels[2])
    assert app.channel == channels[2] and not app.all_channels and not app.channels.exists()


def test_programmer_level_application_needs_all_channels_or_some_of_its_own(programmer, channels):
    refused(programmer, "channels", all_channels=False)
    refused(programmer, "channels", all_channels=True, channels=[channels[0]])
    foreign = ChannelFactory(programmer=ProgrammerFactory(), slug="foreign")
    refused(programmer, "channels", all_channels=False, channels=[channels[0], foreign])
    refused(programmer, "channel", channel=channels[0])
    refused(programmer, "level", level="galaxy")


def test_every_problem_is_reported_at_once(programmer, channels):
    with pytest.raises(ValidationError) as excinfo:
        make_application(programmer, name="", platforms=["web"], scopes=[], redirect_uris=["http://x.example.com/"])
    assert {"name", "domains", "scopes", "redirect_uris"} <= set(excinfo.value.message_dict)


def test_database_refuses_a_channel_level_application_without_a_channel(programmer):
    with pytest.raises(IntegrityError), transaction.atomic():
        RegisteredApplication.objects.create(programmer=programmer, level="channel", channel=None, name="x")


def test_database_refuses_a_channel_level_application_on_all_channels(programmer, channels):
    with pytest.raises(IntegrityError), transaction.atomic():
        RegisteredApplication.objects.create(
            programmer=programmer, level="channel", channel=channels[0], all_channels=True, name="x"
        )


def test_database_refuses_a_programmer_level_application_with_a_single_channel(programmer, channels):
    with pytest.raises(IntegrityError), transaction.atomic():
        RegisteredApplication.objects.create(programmer=programmer, level="programmer", channel=channels[0], name="x")


def test_database_refuses_a_duplicate_name_and_version(programmer, channels):
    make_application(programmer, name="Twice")
    with pytest.raises(IntegrityError), transaction.atomic():
        RegisteredApplication.objects.create(programmer=programmer, all_channels=True, name="Twice", version="1.0.0")


def test_database_refuses_a_revoked_status_without_a_revocation_time(application):
    with pytest.raises(IntegrityError), transaction.atomic():
        RegisteredApplication.objects.filter(pk=application.pk).update(status="revoked")


def test_domain_hosts_are_normalised_and_validated(programmer, channels):
    domain = services.channel_domain_add(channel=channels[0], host=" Play.Example.COM. ", actor="tests")
    assert domain.host == "play.example.com"
    for bad in ["", "localhost", "bad host.com", "-x.example.com", "a..b.com", "x" * 64 + ".com"]:
        with pytest.raises(ValidationError):
            services.channel_domain_add(channel=channels[0], host=bad, actor="tests")
    assert set(ChannelDomain.objects.filter(channel=channels[0]).values_list("host", flat=True)) == {
        "watch.demo-one.example.com",
        "play.example.com",
    }
