"""Every state change of registered_apps; each writes its audit event in the same transaction. One module
per entity, and four that are not: `application_rules` (the rules of a new application), `audit` (the
event), `changes` and `change_apply` (the dashboard's pending changes, README "Dashboard").

The services that act at once are re-exported here: `from registered_apps import services` or
`from registered_apps.services import registered_application_create`. The pending-changes workflow is not:
import its module (`from registered_apps.services import changes`), as the dashboard's views do; a rule's
constant is read from its module (`services.application_rules.VERSION_RULE`, as the forms do)."""

from .application_rules import ApplicationRows, ApplicationSpec, registered_application_check
from .applications import (
    registered_application_create,
    registered_application_create_from,
    registered_application_restore,
    registered_application_revoke,
)
from .audit import Actor, actor_user, audit_event_new, audit_event_record
from .catalogs import catalog_entry_save, catalog_entry_set_active
from .channels import (
    channel_create,
    channel_domain_add,
    channel_domain_host_clean,
    channel_domain_remove,
    channel_domain_users,
    channel_rename,
    channel_settings_check,
    channel_settings_current,
    channel_settings_set,
    channels_foreign_message,
    custom_scheme_add,
    custom_scheme_create,
    custom_scheme_well_formed,
)
from .environments import (
    environment_create,
    environment_delete,
    environment_delete_refusal,
    environment_issuer_clean,
    environment_rows,
    environment_update,
)
from .memberships import membership_check, membership_remove, membership_set
from .programmers import programmer_create, programmer_rename, programmer_statement_lifetime_set
from .quotas import application_quota, application_quotas_republish, set_application_quota
from .revocation_requests import revocation_request_approve, revocation_request_create, revocation_request_dismiss
from .users import dashboard_user_set

__all__ = [
    "Actor",
    "ApplicationRows",
    "ApplicationSpec",
    "actor_user",
    "application_quota",
    "application_quotas_republish",
    "audit_event_new",
    "audit_event_record",
    "catalog_entry_save",
    "catalog_entry_set_active",
    "channel_create",
    "channel_domain_add",
    "channel_domain_host_clean",
    "channel_domain_remove",
    "channel_domain_users",
    "channel_rename",
    "channel_settings_check",
    "channel_settings_current",
    "channel_settings_set",
    "channels_foreign_message",
    "custom_scheme_add",
    "custom_scheme_create",
    "custom_scheme_well_formed",
    "dashboard_user_set",
    "environment_create",
    "environment_delete",
    "environment_delete_refusal",
    "environment_issuer_clean",
    "environment_rows",
    "environment_update",
    "membership_check",
    "membership_remove",
    "membership_set",
    "programmer_create",
    "programmer_rename",
    "programmer_statement_lifetime_set",
    "registered_application_check",
    "registered_application_create",
    "registered_application_create_from",
    "registered_application_restore",
    "registered_application_revoke",
    "revocation_request_approve",
    "revocation_request_create",
    "revocation_request_dismiss",
    "set_application_quota",
]
