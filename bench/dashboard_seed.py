"""The dashboard's data for `make bench` (README "Against the floor: `make bench`"): many applications across
many programmers, bulk-created straight into the tables (one service call each would take minutes and measure nothing of
interest), a big programmer whose first application has a long statement history, many clients and a
month of usage, and a small one with next to nothing; bench.dashboard times their pages."""

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import models, transaction
from django.utils import timezone

from registered_apps.models import (
    Access,
    ApplicationLevel,
    ApplicationStatus,
    AuditEvent,
    Channel,
    ChannelDomain,
    CustomScheme,
    Membership,
    Platform,
    Programmer,
    RegisteredApplication,
    Scope,
    UsageDaily,
)

BATCH = 2000
CHANNELS_PER_PROGRAMMER = 3
# The detail page shows the statement history, the client count and 30 days of usage: the measured
# application carries a lot of each, the small one next to nothing, and both must cost the same queries.
BIG_STATEMENTS = 200
BIG_CLIENTS = 500


@dataclass(frozen=True)
class DashboardSeed:
    username: str
    password: str
    big_programmer: Programmer
    small_programmer: Programmer
    big_application: RegisteredApplication
    small_application: RegisteredApplication
    applications: int
    programmers: int


def _through_rows(field_name: str, pairs: list[tuple[uuid.UUID, int]]) -> None:
    field = RegisteredApplication._meta.get_field(field_name)
    assert isinstance(field, models.ManyToManyField)
    through = field.remote_field.through
    source, target = f"{field.m2m_field_name()}_id", f"{field.m2m_reverse_field_name()}_id"
    through.objects.bulk_create([through(**{source: a, target: b}) for a, b in pairs], batch_size=BATCH)


@dataclass(frozen=True)
class _Catalog:
    """What the seeded applications are made of."""

    non_web: list[Platform]
    web: Platform
    scopes: list[Scope]
    channels_of: dict[int, list[Channel]]
    domain_of: dict[int, ChannelDomain]
    scheme_of: dict[int, str]
    now: Any


@dataclass
class _Rows:
    """The seeded applications and their many-to-many rows, created in bulk at the end."""

    applications: list[RegisteredApplication] = field(default_factory=list)
    subset: list[tuple[uuid.UUID, int]] = field(default_factory=list)
    platforms: list[tuple[uuid.UUID, int]] = field(default_factory=list)
    scopes: list[tuple[uuid.UUID, int]] = field(default_factory=list)
    domains: list[tuple[uuid.UUID, int]] = field(default_factory=list)


@transaction.atomic
def seed(*, applications: int, programmers: int) -> DashboardSeed:
    """`applications` applications spread evenly over `programmers` programmers (plus a small one)."""
    now = timezone.now()
    all_programmers = Programmer.objects.bulk_create(
        [Programmer(slug=f"bench-p{i:03d}", name=f"Bench Programmer {i:03d}") for i in range(programmers)]
        + [Programmer(slug="bench-small", name="Bench Small Programmer")]
    )
    *big_programmers, small_programmer = all_programmers
    catalog = _catalog(all_programmers, now)
    rows = _Rows()
    owners = [(p, applications // programmers + (1 if i < applications % programmers else 0))
              for i, p in enumerate(big_programmers)] + [(small_programmer, 1)]  # fmt: skip
    for programmer, count in owners:
        for k in range(count):
            _application(programmer, k, catalog, rows)
    _rows_saved(rows)

    big_application = next(a for a in rows.applications if a.programmer_id == big_programmers[0].pk and a.is_active)
    small_application = next(a for a in rows.applications if a.programmer_id == small_programmer.pk)
    _statements_clients_usage(big_application, statements=BIG_STATEMENTS, clients=BIG_CLIENTS, now=now)
    _statements_clients_usage(small_application, statements=1, clients=0, now=now)
    # Every application of the first programmer has a statement and a month of usage, as a list
    # showing such columns would read them.
    for application in rows.applications:
        if application.programmer_id == big_programmers[0].pk and application not in (big_application,):
            _statements_clients_usage(application, statements=1, clients=1, now=now)

    password = secrets.token_urlsafe(18)
    viewer = User.objects.create_user(username="bench-viewer", email="bench-viewer@example.com", password=password)
    Membership.objects.bulk_create(
        [Membership(user=viewer, programmer=p, access=Access.READ_WRITE) for p in all_programmers], batch_size=BATCH
    )
    return DashboardSeed(
        username=viewer.username,
        password=password,
        big_programmer=big_programmers[0],
        small_programmer=small_programmer,
        big_application=big_application,
        small_application=small_application,
        applications=len(rows.applications),
        programmers=len(all_programmers),
    )


def _catalog(all_programmers: list[Programmer], now: Any) -> _Catalog:
    """The programmers' channels, each with a domain and a custom scheme, and the active catalogs."""
    platforms = list(Platform.objects.filter(active=True).order_by("code"))
    channels = Channel.objects.bulk_create(
        [
            Channel(programmer=p, slug=f"{p.slug}-c{j}", name=f"{p.name} channel {j}")
            for p in all_programmers
            for j in range(CHANNELS_PER_PROGRAMMER)
        ],
        batch_size=BATCH,
    )
    domains = ChannelDomain.objects.bulk_create(
        [ChannelDomain(channel=c, host=f"watch.{c.slug}.example.com") for c in channels], batch_size=BATCH
    )
    schemes = CustomScheme.objects.bulk_create([CustomScheme(channel=c) for c in channels], batch_size=BATCH)
    channels_of: dict[int, list[Channel]] = {}
    for channel in channels:
        channels_of.setdefault(channel.programmer_id, []).append(channel)
    return _Catalog(
        non_web=[p for p in platforms if p.code != "web"],
        web=next(p for p in platforms if p.code == "web"),
        scopes=list(Scope.objects.filter(active=True).order_by("code")),
        channels_of=channels_of,
        domain_of={d.channel_id: d for d in domains},
        scheme_of={s.channel_id: s.scheme for s in schemes},
        now=now,
    )


def _application(programmer: Programmer, k: int, catalog: _Catalog, rows: _Rows) -> None:
    """The programmer's k-th application (not saved yet) with its many-to-many rows."""
    own = catalog.channels_of[programmer.pk]
    kind = k % 5
    application = RegisteredApplication(
        id=uuid.uuid4(),
        programmer=programmer,
        name=f"{programmer.name} app {k // 3:03d}",
        version=f"{1 + k % 3}.0.0",
    )
    # 3 in 5 on all channels, 1 in 5 on a subset of channels, 1 in 5 at channel level.
    if kind < 3:
        application.all_channels = True
        covered = own
    elif kind == 3:
        covered = own[:2]
        rows.subset.extend((application.id, c.pk) for c in covered)
    else:
        application.level = ApplicationLevel.CHANNEL
        application.channel = own[k % len(own)]
        covered = [application.channel]
    non_web = catalog.non_web
    chosen = [non_web[(k + n) % len(non_web)] for n in range(1 + k % 3)]
    uris = [f"{catalog.scheme_of[covered[0].pk]}://auth/callback"]
    if k % 4 == 0:
        chosen.append(catalog.web)
        domain = catalog.domain_of[covered[0].pk]
        rows.domains.append((application.id, domain.pk))
        uris.append(f"https://{domain.host}/callback")
    application.redirect_uris = uris
    rows.platforms.extend((application.id, p.pk) for p in chosen)
    rows.scopes.extend((application.id, s.pk) for s in catalog.scopes[: 1 + k % 2])
    if k % 10 == 9:
        application.status = ApplicationStatus.REVOKED
        application.revoked_at = catalog.now
        application.revocation_reason = "Superseded by a newer version."
    rows.applications.append(application)


def _rows_saved(rows: _Rows) -> None:
    """The applications, their many-to-many rows and their audit events, in bulk."""
    RegisteredApplication.objects.bulk_create(rows.applications, batch_size=BATCH)
    _through_rows("channels", rows.subset)
    _through_rows("platforms", rows.platforms)
    _through_rows("scopes", rows.scopes)
    _through_rows("domains", rows.domains)
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor_label="command:bench",
                action="application.create",
                object_type="registeredapplication",
                object_id=str(a.pk),
                object_repr=str(a)[:255],
                programmer_id=a.programmer_id,
            )
            for a in rows.applications
        ],
        batch_size=BATCH,
    )


def _statements_clients_usage(application: RegisteredApplication, *, statements: int, clients: int, now: Any) -> None:
    from oauth.models import Client as OAuthClient
    from software_statements.models import SoftwareStatement

    issued = SoftwareStatement.objects.bulk_create(
        [
            SoftwareStatement(
                application=application,
                kid="bench-seed",
                issued_at=now - timedelta(hours=n),
                issued_by_label="command:bench",
            )
            for n in range(statements)
        ]
    )
    OAuthClient.objects.bulk_create(
        [
            OAuthClient(
                name=f"{application.name} client {n}",
                client_type=OAuthClient.CLIENT_CONFIDENTIAL,
                authorization_grant_type=OAuthClient.GRANT_CLIENT_CREDENTIALS,
                registered_application=application,
                statement=issued[n % len(issued)],
                scopes=["api:client:v2"],
                platform="ios",
            )
            for n in range(clients)
        ],
        batch_size=BATCH,
    )
    UsageDaily.objects.bulk_create(
        [
            UsageDaily(
                application=application,
                day=(now - timedelta(days=d)).date(),
                platform=platform,
                registrations=d + 1,
                tokens=100 * (d + 1),
            )
            for d in range(30)
            for platform in ("ios", "tvos")
        ]
    )
