"""What staging, pushing and promoting share: the channels a change is about, the one programmer of a
set of changes, how a push names a change that failed, and the exception that rolls a rehearsal back."""

from collections.abc import Sequence

from django.utils.translation import gettext

from ...change_descriptions import change_summary
from ...models import ChangeKind, Channel, PendingChange, Programmer, PushedChange


class Rehearsed(Exception):
    """Raised at the end of a rehearsal to roll it back."""


def one_programmer(changes: Sequence[PendingChange] | Sequence[PushedChange]) -> Programmer | None:
    programmers = {change.programmer_id for change in changes}
    return changes[0].programmer if len(programmers) == 1 else None


def touched_channels(
    changes: Sequence[PendingChange] | Sequence[PushedChange],
) -> list[tuple[list[int], bool, int | None]]:
    """Per change, the channels it is about as they exist now (one query): their ids, whether it covers
    all channels, and its own channel (channel-level changes)."""
    wanted: list[tuple[list[str], bool, str | None]] = []
    for change in changes:
        payload = change.payload
        if change.kind == ChangeKind.APPLICATION_CREATE:
            own = payload.get("channel")
            slugs = [own] if own else list(payload.get("channels") or [])
            wanted.append((slugs, bool(payload.get("all_channels")), own))
        elif change.kind == ChangeKind.CHANNEL_CREATE:
            wanted.append(([payload.get("slug", "")], False, payload.get("slug")))
        else:
            wanted.append(([payload.get("channel", "")], False, payload.get("channel")))
    all_slugs = {slug for slugs, _, _ in wanted for slug in slugs}
    ids = {
        (programmer_id, slug): pk
        for slug, pk, programmer_id in Channel.objects.filter(slug__in=all_slugs).values_list(
            "slug", "pk", "programmer_id"
        )
    }
    touched = []
    for position, (slugs, all_channels, own) in enumerate(wanted):
        programmer_id = changes[position].programmer_id
        found = [ids[(programmer_id, s)] for s in slugs if (programmer_id, s) in ids]
        touched.append((found, all_channels, ids.get((programmer_id, own)) if own else None))
    return touched


def failure_message(position: int, count: int, change: PendingChange, reason: str) -> str:
    """A change that would fail, named as a failed push names it (`push_failures.failure_text`)."""
    return gettext("Change %(position)s of %(count)s (%(change)s): %(reason)s") % {
        "position": position,
        "count": count,
        "change": change_summary(change.kind, change.payload),
        "reason": reason,
    }
