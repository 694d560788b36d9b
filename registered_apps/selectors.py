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
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.expressions import RawSQL

from .models import (
    Access,
    AuditEvent,
    Channel,
    Membership,
    PendingChange,
    Platform,
    Programmer,
    Push,
    PushedChange,
    PushStatus,
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


def _channel_ids(application: RegisteredApplication) -> "list[int] | QuerySet[Any]":
    """The channels an application covers now (all channels includes channels added later); those of
    all channels as a query (`application_channels` runs it as a subquery), the chosen ones as the
    application's channels (prefetched ones included)."""
    if application.channel_id is not None:
        return [application.channel_id]
    if application.all_channels:
        return Channel.objects.filter(programmer_id=application.programmer_id).values_list("id", flat=True)
    return [c.pk for c in application.channels.all()]


def application_channel_ids(application: RegisteredApplication) -> list[int]:
    """The channels an application covers now (all channels includes channels added later)."""
    return list(_channel_ids(application))


def application_channels(application: RegisteredApplication) -> QuerySet[Channel]:
    """The application's channels (one query for a channel-level or an all-channels application)."""
    return Channel.objects.filter(id__in=_channel_ids(application)).order_by("slug")


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


def can_change(
    reach: Reach | None,
    *,
    channel_ids: Iterable[int] = (),
    all_channels: bool = False,
    programmer_wide: bool = False,
) -> bool:
    """May a member with this reach stage (and push) a change of the programmer's configuration: a
    read-write member, programmer-wide, or whose channels hold every channel the change touches. Adding
    a channel (`programmer_wide`) and all-channels applications need a programmer-wide member."""
    if reach is None or not reach.read_write:
        return False
    if reach.programmer_wide:
        return True
    if all_channels or programmer_wide:
        return False
    return reach.covers_channels(channel_ids)


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
    active ones (revoked clients are few, so it too stops early).

    Active: a client the token endpoint accepts, so none of a revoked application and none registered
    with a revoked statement (the token endpoint answers those `invalid_client`, RFC 6749 5.2)."""
    clients = application.clients.order_by()
    accepted = Q(revoked_at__isnull=True, statement__revoked_at__isnull=True) if application.is_active else Q(pk=None)
    first = clients[: limit + 1].aggregate(total=Count("pk"), active=Count("pk", filter=accepted))
    if first["total"] <= limit:
        return ClientCounts(total=first["total"], active=first["active"])
    active = clients.filter(accepted)[: limit + 1].count()
    return ClientCounts(total=limit, active=min(active, limit), total_more=True, active_more=active > limit)


def statements_with_client_counts(statements: QuerySet[Any], *, limit: int = CLIENT_COUNT_LIMIT) -> QuerySet[Any]:
    """`statements` (a queryset of software statements) with `client_count`: how many clients are
    registered with each, counted in the same query over at most `limit + 1` entries of the index on the
    clients' statement (a foreign key's index), so a page of statements costs one query and at most
    `limit + 1` index entries per row however many clients there are; past `limit` it reads "10,000+"
    (`client_count_text`). The clients' table is reached through the reverse relation, as this layer
    may not import it."""
    relation = statements.model._meta.get_field("clients")
    quote = connection.ops.quote_name
    clients_table = quote(relation.related_model._meta.db_table)
    column = quote(relation.field.column)
    outer = f"{quote(statements.model._meta.db_table)}.{quote(statements.model._meta.pk.column)}"
    # Only quoted table and column names of our models go into the text; the limit is a parameter.
    bounded = (
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {clients_table} WHERE {clients_table}.{column} = {outer} "  # noqa: S608
        "LIMIT %s) AS bounded_clients"
    )
    return statements.annotate(client_count=RawSQL(bounded, (limit + 1,)))  # noqa: S611


def client_count_text(count: int, *, limit: int = CLIENT_COUNT_LIMIT) -> str:
    """A count of `statements_with_client_counts` as shown: "1,234", or "10,000+" past the limit."""
    return f"{limit:,}+" if count > limit else f"{count:,}"


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


# --- Pending changes and the changes log (README "Dashboard") ------------------------------------


def pending_changes_of(user: UserLike, environment_id: int) -> QuerySet[PendingChange]:
    """A user's own pending changes in an environment, in the order they apply."""
    if not _authenticated(user):
        return PendingChange.objects.none()
    return PendingChange.objects.filter(user_id=_uid(user), environment_id=environment_id).order_by("created_at", "id")


def push_of_pending_changes(user: UserLike, environment_id: int, change_ids: Iterable[int]) -> Push | None:
    """The user's latest successful push in the environment that applied one of these (former) pending
    changes: what a second push of an old review page (the browser's Back, a second tab) names."""
    ids = [int(change_id) for change_id in change_ids]
    if not ids or not _authenticated(user):
        return None
    return (
        Push.objects.filter(
            pushed_by_id=_uid(user),
            environment_id=environment_id,
            status=PushStatus.SUCCESSFUL,
            changes__pending_change_id__in=ids,
        )
        .select_related("pushed_by", "environment")
        .order_by("-pushed_at", "-id")
        .first()
    )


def pushed_changes_visible_in(
    user: UserLike, programmer: Programmer, channel: Channel | None = None, *, known_reach: Reach | None = None
) -> QuerySet[PushedChange]:
    """The pushed changes a programmer's changes log shows, or one of its channels' log.

    Programmer-wide members see every change of the programmer. A channel page, or a member narrowed to
    channels, sees the changes about those channels (the channel, its settings, domains and schemes) and
    about the applications covering one of them (all-channels applications cover every channel).
    `known_reach`: the user's reach into the programmer when the caller has read it already."""
    reach = known_reach or reach_of(user, programmer)
    if reach is None or (channel is not None and channel.programmer_id != programmer.pk):
        return PushedChange.objects.none()
    changes = PushedChange.objects.filter(programmer=programmer)
    if channel is None and reach.programmer_wide:
        return changes
    if channel is not None:
        channel_ids = {channel.pk} if reach.programmer_wide or channel.pk in reach.channel_ids else set()
    else:
        channel_ids = set(reach.channel_ids)
    touching = PushedChange.channels.through.objects.filter(channel_id__in=channel_ids).values("pushedchange_id")
    return changes.filter(Q(id__in=touching) | Q(all_channels=True))


def can_push(user: UserLike, programmer_ids: Iterable[int]) -> bool:
    """May the user push pending changes of these programmers: a read-write member of each (with none
    given: of any). Each change checks the member's channels again when it applies."""
    if not _authenticated(user):
        return False
    if _is_superuser(user):
        return True
    ids = set(programmer_ids)
    writable = Membership.objects.filter(user_id=_uid(user), access=Access.READ_WRITE)
    if not ids:
        return writable.exists()
    return writable.filter(programmer_id__in=ids).count() == len(ids)


def push_visible_to(user: UserLike, push: Push) -> bool:
    """Does at least one change of the push show in a changes log the user can read?"""
    programmer_ids = set(push.changes.values_list("programmer_id", flat=True))
    for programmer in programmers_visible_to(user).filter(id__in=programmer_ids):
        if pushed_changes_visible_in(user, programmer).filter(push=push).exists():
            return True
    return False


def pushes_visible_in(
    user: UserLike,
    programmer: Programmer,
    channel: Channel | None = None,
    *,
    environment_id: int | None = None,
    known_reach: Reach | None = None,
) -> QuerySet[Push]:
    """The pushes with at least one change visible in this changes log, newest first."""
    visible = pushed_changes_visible_in(user, programmer, channel, known_reach=known_reach)
    pushes = Push.objects.filter(id__in=visible.values("push_id"))
    if environment_id is not None:
        pushes = pushes.filter(environment_id=environment_id)
    return pushes.order_by("-pushed_at", "-id")


@dataclass(frozen=True)
class ComparedProperty:
    """One line of a comparison: the net change of one property of one entity."""

    entity_type: str
    entity_id: str
    entity_label: str
    property: str
    old: Any
    new: Any


def pushes_compare(
    user: UserLike,
    programmer: Programmer,
    channel: Channel | None,
    first: Push,
    second: Push,
    *,
    known_reach: Reach | None = None,
) -> list[ComparedProperty]:
    """What changed from just after the older push to just after the newer one (both of one environment):
    every successful push after the older, up to and including the newer, folded per entity and
    property (old: the first old value, new: the last new value); properties that came back to their
    value are left out. Only the changes visible in this log count. Two queries whatever the range."""
    older, newer = sorted((first, second), key=lambda push: (push.pushed_at, push.pk))
    after_older = Q(pushed_at__gt=older.pushed_at) | Q(pushed_at=older.pushed_at, id__gt=older.pk)
    up_to_newer = Q(pushed_at__lt=newer.pushed_at) | Q(pushed_at=newer.pushed_at, id__lte=newer.pk)
    in_range = Push.objects.filter(
        after_older, up_to_newer, environment_id=newer.environment_id, status=PushStatus.SUCCESSFUL
    )
    changes = (
        pushed_changes_visible_in(user, programmer, channel, known_reach=known_reach)
        .filter(push__in=in_range)
        .order_by("push__pushed_at", "push_id", "position")
        .only("entity_type", "entity_id", "entity_label", "properties")
    )
    folded: dict[tuple[str, str, str], dict[str, Any]] = {}
    for change in changes:
        for item in change.properties:
            key = (change.entity_type, change.entity_id, str(item.get("property", "")))
            entry = folded.setdefault(key, {"old": item.get("old"), "label": change.entity_label})
            entry["new"] = item.get("new")
            entry["label"] = change.entity_label or entry["label"]
    return [
        ComparedProperty(
            entity_type=entity_type,
            entity_id=entity_id,
            entity_label=entry["label"],
            property=name,
            old=entry["old"],
            new=entry["new"],
        )
        for (entity_type, entity_id, name), entry in folded.items()
        if entry["old"] != entry["new"]
    ]
