"""create_programmer --environment and seed_demo across environments."""

import io

import pytest
from django.core.management import CommandError, call_command

from registered_apps import services
from registered_apps.models import Channel, ChannelDomain, CustomScheme, Environment, Programmer, RegisteredApplication


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_create_programmer_puts_domains_and_schemes_in_the_environment_given():
    output = run(
        "create_programmer", "acme", "--name", "Acme TV", "--channel", "acme-news",
        "--domain", "acme-news:watch.acme.example.com", "--environment", "release-staging",
    )  # fmt: skip
    staging = Environment.objects.get(slug="release-staging")
    news = Channel.objects.get(slug="acme-news")
    assert [(d.host, d.environment_id) for d in news.domains.all()] == [("watch.acme.example.com", staging.pk)]
    scheme = news.custom_schemes.get()
    assert scheme.environment_id == staging.pk
    assert "in Release Staging" in output and scheme.scheme in output


@pytest.mark.django_db
def test_create_programmer_defaults_to_production():
    run(
        "create_programmer",
        "acme",
        "--name",
        "Acme TV",
        "--channel",
        "acme-news",
        "--domain",
        "acme-news:a.example.com",
    )
    news = Channel.objects.get(slug="acme-news")
    assert news.domains.get().environment.is_production and news.custom_schemes.get().environment.is_production


@pytest.mark.django_db
def test_create_programmer_with_an_unknown_environment_creates_nothing():
    with pytest.raises(CommandError, match="valid: prequal-staging, prequal-production, release-staging"):
        run("create_programmer", "acme", "--name", "Acme TV", "--channel", "acme-news", "--environment", "dev")
    assert not Programmer.objects.exists() and not Channel.objects.exists()


@pytest.mark.django_db
def test_seed_demo_gives_every_environment_the_domains_and_a_scheme_per_channel_once():
    first = run("seed_demo")
    counts = (ChannelDomain.objects.count(), CustomScheme.objects.count(), RegisteredApplication.objects.count())
    second = run("seed_demo")
    assert (
        ChannelDomain.objects.count(),
        CustomScheme.objects.count(),
        RegisteredApplication.objects.count(),
    ) == counts
    environments = list(Environment.objects.all())
    assert len(environments) == 4
    for channel in Channel.objects.filter(programmer__slug="demo-networks"):
        for environment in environments:
            hosts = list(ChannelDomain.objects.filter(channel=channel, environment=environment).values_list("host"))
            assert hosts == [(f"watch.{channel.slug}.example.com",)]
            assert CustomScheme.objects.filter(channel=channel, environment=environment).count() == 1
    # Schemes are generated per environment, never copied.
    assert CustomScheme.objects.values("scheme").distinct().count() == CustomScheme.objects.count()
    # The demo application stays production's, and the output does not change shape.
    application = RegisteredApplication.objects.get()
    assert application.environment.is_production
    assert (
        first.splitlines()[-1]
        == second.splitlines()[-1]
        == (f"Demo application: Demo Player 1.0.0 ({application.pk}), active")
    )


@pytest.mark.django_db
def test_after_seed_demo_a_web_application_can_be_made_in_staging_out_of_the_box():
    run("seed_demo")
    staging = Environment.objects.get(slug="release-staging")
    programmer = Programmer.objects.get(slug="demo-networks")
    news = Channel.objects.get(slug="demo-news")
    scheme = CustomScheme.objects.get(channel=news, environment=staging).scheme
    application = services.registered_application_create(
        programmer=programmer,
        level="channel",
        channel=news,
        platforms=["web", "ios"],
        scopes=["api:client:v2"],
        domains=["watch.demo-news.example.com"],
        redirect_uris=[f"{scheme}://callback", "https://watch.demo-news.example.com/callback"],
        name="Demo Player",
        environment=staging,
        actor="tests",
    )
    assert application.environment_id == staging.pk
