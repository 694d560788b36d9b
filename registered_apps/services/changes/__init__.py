"""Pending changes, pushes and promotions.

What a programmer edits in the dashboard waits as a pending change of that user in one environment
until they review it and push; a successful push can be promoted to another environment. One module
per thing a person does: `staging` (each edit, rehearsed as its push will apply it), `pushing` (all or
nothing, with the changes log), `promotion` (promote a push; remove or dismiss pending changes). The
names below are the public services, for `from registered_apps.services import changes`."""

from .promotion import pending_change_remove, pending_changes_dismiss, pending_changes_problems, push_promote
from .pushing import pending_changes_push
from .staging import (
    application_create_stage,
    channel_create_stage,
    channel_domain_add_stage,
    channel_domain_remove_stage,
    channel_settings_stage,
    custom_scheme_create_stage,
)

__all__ = [
    "application_create_stage",
    "channel_create_stage",
    "channel_domain_add_stage",
    "channel_domain_remove_stage",
    "channel_settings_stage",
    "custom_scheme_create_stage",
    "pending_change_remove",
    "pending_changes_dismiss",
    "pending_changes_problems",
    "pending_changes_push",
    "push_promote",
]
