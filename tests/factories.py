"""factory-boy factories for the domain; they build through the real services where a rule applies."""

from typing import Any

import factory
from django.contrib.auth import get_user_model

from oauth.models import Client
from registered_apps import services
from registered_apps.models import Access, Channel, ChannelDomain, CustomScheme, Membership, Programmer


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("password-for-tests")


class ProgrammerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programmer

    slug = factory.Sequence(lambda n: f"programmer-{n}")
    name = factory.Sequence(lambda n: f"Programmer {n}")


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        skip_postgeneration_save = True

    programmer = factory.SubFactory(ProgrammerFactory)
    slug = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())

    @factory.post_generation
    def scheme(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            CustomScheme.objects.create(channel=self)

    @factory.post_generation
    def domain(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            ChannelDomain.objects.create(channel=self, host=extracted or f"watch.{self.slug}.example.com")


def member(user, programmer, access: str = Access.READ_WRITE, channels=()) -> Membership:
    membership = Membership.objects.create(user=user, programmer=programmer, access=access)
    membership.channels.set(channels)
    return membership


def make_application(programmer: Programmer, **overrides: Any):
    """An active programmer-level application on every channel, built by the real service."""
    options: dict[str, Any] = {
        "programmer": programmer,
        "level": "programmer",
        "all_channels": True,
        "platforms": ["ios"],
        "scopes": ["api:client:v2"],
        "name": "App",
        "actor": "tests",
    }
    options.update(overrides)
    return services.registered_application_create(**options)


def make_clients(application, count: int, *, prefix: str = "fleet", platform: str = "ios") -> list[Client]:
    return Client.objects.bulk_create(
        Client(
            client_id=f"{prefix}-{n:05d}",
            name=f"{application.name} device",
            registered_application=application,
            client_type=Client.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Client.GRANT_CLIENT_CREDENTIALS,
            client_secret="not-a-secret",
            hash_client_secret=False,
            platform=platform,
        )
        for n in range(count)
    )
