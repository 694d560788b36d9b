"""Reads that carry a rule, above all who may see and manage what.

The membership rules:
- a programmer-wide member sees every channel and application of the programmer;
- a channel member (membership narrowed to channels) sees those channels, and the applications that
  cover at least one of them (channel level on one of them, a subset including one, or all channels);
- a read-write member may manage (create, download statements, request revocation) what lies wholly
  inside their reach: a channel member cannot manage an all-channels application or a subset that
  reaches beyond their channels; read-only members manage nothing;
- superusers see and manage everything.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Q, QuerySet

from .models import (
    Access,
    AuditEvent,
    Channel,
    Membership,
    Platform,
    Programmer,
    RegisteredApplication,
    Scope,
)

UserLike = User | AnonymousUser


@dataclass(frozen=True)
class Reach:
    """What one user may see or manage of one programmer."""

    programmer_wide: bool
    channel_ids: frozenset[int]
    read_write: bool

    def covers_channels(self, channel_ids: Iterable[int]) -> bool:
        ids = set(channel_ids)
        return self.programmer_wide or (bool(ids) and ids <= self.channel_ids)


def _is_superuser(user: UserLike) -> bool:
    return bool(getattr(user, "is_superuser", False)) and bool(getattr(user, "is_active", False))


def _authenticated(user: UserLike) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and bool(getattr(user, "is_active", False))


def _uid(user: UserLike) -> int:
    return int(user.pk or 0)


def reach_of(user: UserLike, programmer: Programmer) -> Reach | None:
    """The user's reach into one programmer, or None when they have none."""
    if not _authenticated(user):
        return None
    if _is_superuser(user):
        return Reach(programmer_wide=True, channel_ids=frozenset(), read_write=True)
    membership = (
        Membership.objects.filter(user_id=_uid(user), programmer=programmer).prefetch_related("channels").first()
    )
    if membership is None:
        return None
    channel_ids = frozenset(c.pk for c in membership.channels.all())
    return Reach(
        programmer_wide=not channel_ids,
        channel_ids=channel_ids,
        read_write=membership.access == Access.READ_WRITE,
    )


def programmers_visible_to(user: UserLike) -> QuerySet[Programmer]:
    if not _authenticated(user):
        return Programmer.objects.none()
    if _is_superuser(user):
        return Programmer.objects.all()
    return Programmer.objects.filter(id__in=Membership.objects.filter(user_id=_uid(user)).values("programmer_id"))


def channels_visible_to(user: UserLike) -> QuerySet[Channel]:
    if not _authenticated(user):
        return Channel.objects.none()
    if _is_superuser(user):
        return Channel.objects.all()
    wide = Membership.objects.filter(user_id=_uid(user), channels__isnull=True).values("programmer_id")
    narrowed = Membership.channels.through.objects.filter(membership__user_id=_uid(user)).values("channel_id")
    return Channel.objects.filter(Q(programmer_id__in=wide) | Q(id__in=narrowed))


def applications_visible_to(user: UserLike) -> QuerySet[RegisteredApplication]:
    if not _authenticated(user):
        return RegisteredApplication.objects.none()
    if _is_superuser(user):
        return RegisteredApplication.objects.all()
    wide = Membership.objects.filter(user_id=_uid(user), channels__isnull=True).values("programmer_id")
    my_channels = Membership.channels.through.objects.filter(membership__user_id=_uid(user)).values("channel_id")
    with_my_channel = RegisteredApplication.channels.through.objects.filter(channel_id__in=my_channels).values(
        "registeredapplication_id"
    )
    programmers_of_my_channels = Channel.objects.filter(id__in=my_channels).values("programmer_id")
    return RegisteredApplication.objects.filter(
        Q(programmer_id__in=wide)
        | Q(channel_id__in=my_channels)
        | Q(id__in=with_my_channel)
        | Q(all_channels=True, programmer_id__in=programmers_of_my_channels)
    )


def application_channel_ids(application: RegisteredApplication) -> list[int]:
    """The channels an application covers now (all channels includes channels added later)."""
    if application.channel_id is not None:
        return [application.channel_id]
    if application.all_channels:
        return list(application.programmer.channels.values_list("id", flat=True))
    return [c.pk for c in application.channels.all()]


def application_channels(application: RegisteredApplication) -> QuerySet[Channel]:
    return Channel.objects.filter(id__in=application_channel_ids(application)).order_by("slug")


def can_manage(user: UserLike, application: RegisteredApplication) -> bool:
    """Read-write members whose reach covers every channel of the application."""
    reach = reach_of(user, application.programmer)
    if reach is None or not reach.read_write:
        return False
    if reach.programmer_wide:
        return True
    if application.all_channels:
        return False
    return reach.covers_channels(application_channel_ids(application))


def can_create(
    user: UserLike, programmer: Programmer, *, all_channels: bool = False, channel_ids: Iterable[int] = ()
) -> bool:
    """May the user create an application of this programmer covering these channels?"""
    reach = reach_of(user, programmer)
    if reach is None or not reach.read_write:
        return False
    if reach.programmer_wide:
        return True
    if all_channels:
        return False
    ids = list(channel_ids)
    return not ids or reach.covers_channels(ids)


def active_platforms() -> QuerySet[Platform]:
    return Platform.objects.filter(active=True)


def active_scopes() -> QuerySet[Scope]:
    return Scope.objects.filter(active=True)


# --- Dashboard reads ------------------------------------------------------------------------------

# An application can have a client per install, millions: its page counts them up to this many.
CLIENT_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class ClientCounts:
    """An application's clients and active (unrevoked) clients, exact up to a limit; `total_more` and
    `active_more` say there are more than `total` and `active`, which are then the limit."""

    total: int
    active: int
    total_more: bool = False
    active_more: bool = False


def application_client_counts(application: RegisteredApplication, *, limit: int = CLIENT_COUNT_LIMIT) -> ClientCounts:
    """Count over at most `limit + 1` rows of the index on the clients' application, so the cost stays
    that of `limit` clients however many there are. Past the limit, a second bounded count for the
    active ones (revoked clients are few, so it too stops early)."""
    clients = application.clients.order_by()
    first = clients[: limit + 1].aggregate(total=Count("pk"), active=Count("pk", filter=Q(revoked_at__isnull=True)))
    if first["total"] <= limit:
        return ClientCounts(total=first["total"], active=first["active"])
    active = clients.filter(revoked_at__isnull=True)[: limit + 1].count()
    return ClientCounts(total=limit, active=min(active, limit), total_more=True, active_more=active > limit)


def applications_covering(
    applications: QuerySet[RegisteredApplication], channel: Channel
) -> QuerySet[RegisteredApplication]:
    """Narrow `applications` to those that cover `channel` now (all channels includes it)."""
    in_subset = RegisteredApplication.channels.through.objects.filter(channel_id=channel.pk).values(
        "registeredapplication_id"
    )
    return applications.filter(
        Q(channel_id=channel.pk) | Q(id__in=in_subset) | Q(all_channels=True, programmer_id=channel.programmer_id)
    )


def audit_events_visible_in(
    user: UserLike, programmer: Programmer, channel: Channel | None = None
) -> QuerySet[AuditEvent]:
    """The changes log of a programmer, or of one of its channels.

    Programmer-wide members see every event of the programmer. A channel page, or a member narrowed
    to channels, sees the events about those channels (the channel, its schemes and domains) and
    about the applications visible there, not what happened on the programmer's other channels.
    """
    reach = reach_of(user, programmer)
    if reach is None or (channel is not None and channel.programmer_id != programmer.pk):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.filter(programmer=programmer).select_related("actor_user")
    if channel is None and reach.programmer_wide:
        return events
    if channel is not None:
        channel_ids = {channel.pk} if reach.programmer_wide or channel.pk in reach.channel_ids else set()
    else:
        channel_ids = set(reach.channel_ids)
    narrowed = list(Channel.objects.filter(id__in=channel_ids, programmer=programmer))
    applications = applications_visible_to(user).filter(programmer=programmer)
    if channel is not None:
        applications = applications_covering(applications, channel)
    application_ids = [str(pk) for pk in applications.values_list("id", flat=True)]
    return events.filter(
        Q(object_type="channel", object_id__in=[str(c.pk) for c in narrowed])
        | Q(details__channel__in=[c.slug for c in narrowed])
        | Q(object_type="registeredapplication", object_id__in=application_ids)
        | Q(details__application__in=application_ids)
    )
