"""The TAM admin of the registry, one module per admin (or small group). Every change goes through
`registered_apps.services`, with the admin user as the actor and the request's IP in the audit event;
forms only translate a service's ValidationError (core.service_errors)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import (
    applications,
    catalogs,
    channels,
    environments,
    memberships,
    programmers,
    pushes,
    records,
    revocation_requests,
)

admin.site.site_header = _("DCR registry administration")
admin.site.site_title = _("DCR registry admin")
admin.site.index_title = _("Programmers, applications, statements and clients")

__all__ = [
    "applications",
    "catalogs",
    "channels",
    "environments",
    "memberships",
    "programmers",
    "pushes",
    "records",
    "revocation_requests",
]
