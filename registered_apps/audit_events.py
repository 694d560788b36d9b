"""Audit events as a person reads them: a plain-language name for every action code the code base
writes (`ACTION_NAMES`, the one mapping), each event's object named as a person names it, and the
environment an event happened in (events carry it in different ways: `details["environment"]` as an id,
a slug or an issuer, or only through the application they are about)."""

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .environments import EnvironmentInfo, environment_by_id, environment_by_slug, environments_all
from .models import AuditEvent, Programmer, RegisteredApplication

# Every action code written by a service, task or command (a test walks the code base for them). Read
# as "<who> <name> <object>": "rw · Pushed changes · Push #4 to Release Production".
ACTION_NAMES: dict[str, Any] = {
    # Applications and their revocation.
    "application.create": _("Created application"),
    "application.revoke": _("Revoked application"),
    "application.restore": _("Restored application"),
    "application.revocation_request": _("Requested revocation"),
    "application.revocation_request_approve": _("Approved revocation request"),
    "application.revocation_request_dismiss": _("Dismissed revocation request"),
    "application.quota": _("Set application quotas"),
    # Statements, keys, clients and tokens.
    "statement.issue": _("Downloaded software statement"),
    "statement.revoke": _("Revoked software statement"),
    "signing_key.create": _("Created signing key"),
    "signing_key.rotate": _("Rotated signing keys"),
    "signing_key.retire": _("Retired signing key"),
    "client.register": _("Registered client"),
    "client.revoke": _("Revoked client"),
    "client.rotate_secret": _("Client rotated its secret"),
    "client.delete": _("Client deleted its registration"),
    "client.idle": _("Marked client idle"),
    "client.purge": _("Deleted idle clients"),
    "token.revoke": _("Revoked access token"),
    # Programmers, channels, domains, custom schemes.
    "programmer.create": _("Created programmer"),
    "programmer.change": _("Renamed programmer"),
    "programmer.statement_lifetime": _("Set default statement lifetime"),
    "channel.create": _("Added channel"),
    "channel.change": _("Renamed channel"),
    "channel.settings": _("Changed channel settings"),
    "domain.create": _("Added domain"),
    "domain.delete": _("Deleted domain"),
    "custom_scheme.create": _("Generated custom scheme"),
    # Pending changes and pushes.
    "push": _("Pushed changes"),
    "push.failed": _("Push failed"),
    "push.promote": _("Promoted push"),
    "pending_change.remove": _("Removed a pending change"),
    "pending_changes.dismiss": _("Dismissed pending changes"),
    # People, catalogs, environments, housekeeping (the admin and the commands).
    "user.create": _("Created user"),
    "user.change": _("Changed user"),
    "membership.set": _("Set membership"),
    "membership.delete": _("Removed membership"),
    "platform.create": _("Added platform"),
    "platform.change": _("Changed platform"),
    "platform.retire": _("Retired platform"),
    "platform.reactivate": _("Reactivated platform"),
    "scope.create": _("Added scope"),
    "scope.change": _("Changed scope"),
    "scope.retire": _("Retired scope"),
    "scope.reactivate": _("Reactivated scope"),
    "environment.create": _("Created environment"),
    "environment.change": _("Changed environment"),
    "environment.delete": _("Deleted environment"),
    "staff_totp_enrolled": _("Enrolled authenticator app"),
    "staff_recovery_codes_issued": _("Issued recovery codes"),
    "audit.purge": _("Deleted old audit events"),
}

# What a person calls each kind of object (`AuditEvent.object_type` is the model's name).
OBJECT_NAMES: dict[str, Any] = {
    "registeredapplication": _("Application"),
    "softwarestatement": _("Statement"),
    "signingkey": _("Signing key"),
    "client": _("Client"),
    "deniedtoken": _("Access token"),
    "programmer": _("Programmer"),
    "channel": _("Channel"),
    "channeldomain": _("Domain"),
    "customscheme": _("Custom scheme"),
    "push": _("Push"),
    "environment": _("Environment"),
    "user": _("User"),
    "membership": _("Membership"),
    "platform": _("Platform"),
    "scope": _("Scope"),
}


def action_name(action: str) -> str:
    """The plain-language name of an action code (an unknown code reads as words, never as a code)."""
    return str(ACTION_NAMES.get(action) or action.replace(".", " ").replace("_", " ").capitalize())


# A name (a host, a requestor id, a scheme) up to this long is kept on one line: "demo-one" does not
# break at its hyphen. A longer one may wrap anywhere rather than widen a phone's page.
WHOLE_TERM_LENGTH = 40


@dataclass(frozen=True)
class AuditRow:
    """One event as the audit list shows it."""

    event: AuditEvent
    action: str
    object_name: str
    environment: EnvironmentInfo | None
    application_id: str

    @property
    def object_parts(self) -> list[tuple[str, bool]]:
        """The object's name in pieces, each with whether it is a term to keep whole (no space in it)."""
        pieces = re.split(r"(\s+)", self.object_name)
        return [(piece, bool(piece.strip()) and len(piece) <= WHOLE_TERM_LENGTH) for piece in pieces if piece]


def _environment_named(value: object) -> EnvironmentInfo | None:
    """`details["environment"]`: an id, a slug or an issuer, as the services wrote it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return environment_by_id(value)
    if isinstance(value, str) and value:
        return environment_by_slug(value) or next((e for e in environments_all() if e.issuer == value), None)
    return None


def _application_id(event: AuditEvent) -> str:
    if event.object_type == "registeredapplication":
        return event.object_id
    details = event.details if isinstance(event.details, dict) else {}
    return str(details.get("application") or details.get("software_id") or "")


def _object_name(event: AuditEvent, environment: EnvironmentInfo | None, applications: dict[str, str]) -> str:
    details = event.details if isinstance(event.details, dict) else {}
    kind = OBJECT_NAMES.get(event.object_type, event.object_type.replace("_", " ").capitalize())
    if event.object_type == "push":
        return _push_name(event, details, environment)
    if event.object_type in {"registeredapplication", "softwarestatement", "client"}:
        return _application_object_name(event, kind, applications.get(_application_id(event)))
    if event.object_type in {"channeldomain", "customscheme"} and details.get("channel"):
        return gettext("%(kind)s %(object)s of %(channel)s") % {
            "kind": kind,
            "object": event.object_repr,
            "channel": details["channel"],
        }
    if event.action == "pending_changes.dismiss":
        count = int(details.get("count") or 0)
        return ngettext("%(count)s pending change", "%(count)s pending changes", count) % {"count": count}
    if event.action == "pending_change.remove" and details.get("change"):
        return str(details["change"])
    if event.object_type == "environment":
        return event.object_repr
    return (gettext("%(kind)s %(object)s") % {"kind": kind, "object": event.object_repr}).strip()


def _push_name(event: AuditEvent, details: dict[str, Any], environment: EnvironmentInfo | None) -> str:
    """ "Push #4 to Release Staging"; a promotion names the environment the push came from."""
    number = event.object_id
    if event.action == "push.promote":
        source = _environment_named(details.get("from"))
        if source is None:
            return gettext("Push #%(number)s") % {"number": number}
        return gettext("Push #%(number)s of %(environment)s") % {"number": number, "environment": source.name}
    if environment is None:
        return gettext("Push #%(number)s") % {"number": number}
    return gettext("Push #%(number)s to %(environment)s") % {"number": number, "environment": environment.name}


def _application_object_name(event: AuditEvent, kind: str, application: str | None) -> str:
    """An application, one of its statements or one of its clients, named with the application."""
    if event.object_type == "registeredapplication":
        return event.object_repr
    if event.object_type == "softwarestatement":
        if application:
            return gettext("Statement of %(application)s") % {"application": application}
        return gettext("Software statement")
    if application:
        return gettext("%(kind)s %(object)s of %(application)s") % {
            "kind": kind,
            "object": event.object_repr,
            "application": application,
        }
    return gettext("%(kind)s %(object)s") % {"kind": kind, "object": event.object_repr}


def audit_rows(events: Sequence[AuditEvent]) -> list[AuditRow]:
    """The page's events with their names and environments (one query for the applications they name)."""
    applications = _applications_named(events)
    names = {pk: label for pk, (label, _) in applications.items()}
    rows = []
    for event in events:
        application_id = _application_id(event)
        environment = _event_environment(event, applications.get(application_id))
        rows.append(
            AuditRow(
                event=event,
                action=action_name(event.action),
                object_name=_object_name(event, environment, names),
                environment=environment,
                application_id=application_id if application_id in applications else "",
            )
        )
    return rows


def _applications_named(events: Sequence[AuditEvent]) -> dict[str, tuple[str, int | None]]:
    """The applications the events name (one query): id -> ("name version", environment id)."""
    wanted = {_application_id(event) for event in events} - {""}
    applications: dict[str, tuple[str, int | None]] = {}
    if wanted:
        valid = [pk for pk in wanted if _is_uuid(pk)]
        for pk, name, version, environment_id in RegisteredApplication.objects.filter(pk__in=valid).values_list(
            "pk", "name", "version", "environment_id"
        ):
            applications[str(pk)] = (f"{name} {version}", environment_id)
    return applications


def _event_environment(event: AuditEvent, application: tuple[str, int | None] | None) -> EnvironmentInfo | None:
    """The environment an event happened in: named in its details, the environment it is about, or its
    application's."""
    details = event.details if isinstance(event.details, dict) else {}
    environment = _environment_named(details.get("environment"))
    if environment is None and event.object_type == "environment" and event.object_id.isdigit():
        environment = environment_by_id(int(event.object_id))
    if environment is None and application is not None:
        environment = environment_by_id(application[1] or 0)
    return environment


def audit_events_in_environment(
    events: QuerySet[AuditEvent], environment: EnvironmentInfo, programmer: Programmer
) -> QuerySet[AuditEvent]:
    """Narrow `events` to those that `audit_rows` places in `environment` (the list's filter)."""
    application_ids = [
        str(pk)
        for pk in RegisteredApplication.objects.filter(
            programmer=programmer, environment_id=environment.id
        ).values_list("pk", flat=True)
    ]
    return events.filter(
        Q(details__environment=environment.id)
        | Q(details__environment=environment.slug)
        | Q(details__environment=environment.issuer)
        | Q(object_type="environment", object_id=str(environment.id))
        | Q(object_type="registeredapplication", object_id__in=application_ids)
        | Q(details__application__in=application_ids)
        | Q(details__software_id__in=application_ids)
    )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
