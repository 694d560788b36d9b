"""Environments: the four defaults, the one a request's host serves, and each one's issuer.

The table is small and read on every API request, so each process keeps it for ENVIRONMENTS_TTL
seconds (an edit in the admin reaches every worker within that time). A host resolves, in order:
an entry of `DCR_ENVIRONMENT_HOSTS` (`slug=host,slug=host`), `<slug>.localhost` (browsers and curl send
`*.localhost` to loopback, so `make run` serves every environment), else the production environment.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpRequest
from django.http.request import split_domain_port

from core.conf import dcr
from core.local_caches import local_cache

from .models import Environment

ENVIRONMENTS_TTL = 60.0
# While the database cannot be read, the last table read is used again for this long at a time: the
# token path needs no database otherwise, and a restart of PostgreSQL must not stop it.
STALE_RETRY = 5.0

# slug, name, order; the last one is production (README "Environments").
DEFAULT_ENVIRONMENTS = (
    ("prequal-staging", "Prequal Staging", 10),
    ("prequal-production", "Prequal Production", 20),
    ("release-staging", "Release Staging", 30),
    ("release-production", "Release Production", 40),
)
PRODUCTION_SLUG = "release-production"


# The table ("table", and "last" read while the database answered) and the environment of each validated
# Host header.
_tables = local_cache("environments", maxsize=2, ttl=ENVIRONMENTS_TTL)
_hosts = local_cache("environment-hosts", maxsize=64, ttl=ENVIRONMENTS_TTL)


@dataclass(frozen=True)
class EnvironmentInfo:
    """What the hot paths need of an environment, without a query."""

    id: int
    slug: str
    name: str
    issuer: str
    is_production: bool


@dataclass(frozen=True)
class _Table:
    by_id: dict[int, EnvironmentInfo]
    by_slug: dict[str, EnvironmentInfo]
    production: EnvironmentInfo
    ordered: tuple[EnvironmentInfo, ...]
    hosts: dict[str, str]


def environment_hosts() -> dict[str, str]:
    """host -> slug from `DCR_ENVIRONMENT_HOSTS` (a dict slug -> host in settings; hosts lowercased,
    without a port)."""
    hosts: dict[str, str] = {}
    for slug, host in dict(dcr.environment_hosts).items():
        domain, _port = split_domain_port(str(host).strip().lower())
        if domain:
            hosts[domain] = str(slug)
    return hosts


def _derived_issuer(slug: str, is_production: bool, hosts: dict[str, str]) -> str:
    """Production: DCR_ISSUER. Another environment: DCR_ISSUER's scheme on the environment's host
    (with DCR_ISSUER's port when the host is `<slug>.localhost`)."""
    base = str(dcr.issuer).rstrip("/")
    if is_production:
        return base
    parts = urlsplit(base)
    host = next((h for h, s in hosts.items() if s == slug), None)
    if host is None:
        host = f"{slug}.localhost" + (f":{parts.port}" if parts.port else "")
    return f"{parts.scheme}://{host}"


def _table() -> _Table:
    table: _Table | None = _tables.get("table")
    if table is not None:
        return table
    try:
        table = _table_read()
    except DatabaseError:
        last: _Table | None = _tables.get("last")
        if last is None:
            raise
        _tables.put("table", last, ttl=STALE_RETRY)
        return last
    _tables.put("table", table)
    _tables.put("last", table, ttl=float("inf"))
    return table


def _table_read() -> _Table:
    rows = list(Environment.objects.order_by("order", "pk"))
    if not any(row.is_production for row in rows):
        environments_ensure()
        rows = list(Environment.objects.order_by("order", "pk"))
    hosts = environment_hosts()
    infos = tuple(
        EnvironmentInfo(
            id=row.pk,
            slug=row.slug,
            name=row.name,
            issuer=(row.issuer.strip().rstrip("/") or _derived_issuer(row.slug, row.is_production, hosts)),
            is_production=row.is_production,
        )
        for row in rows
    )
    return _Table(
        by_id={info.id: info for info in infos},
        by_slug={info.slug: info for info in infos},
        production=next(info for info in infos if info.is_production),
        ordered=infos,
        hosts=hosts,
    )


def environments_ensure() -> None:
    """Create the default environments that are missing (migrations do it; a flushed test database,
    or a table emptied by hand, gets them back on first use)."""
    for slug, name, order in DEFAULT_ENVIRONMENTS:
        try:
            with transaction.atomic():
                Environment.objects.get_or_create(
                    slug=slug, defaults={"name": name, "order": order, "is_production": slug == PRODUCTION_SLUG}
                )
        except IntegrityError:
            # Another process made it meanwhile, or a production environment already exists.
            continue


def environments_forget() -> None:
    """This process reads the table again on next use (after an edit in the admin)."""
    _forget()
    transaction.on_commit(_forget)


def _forget() -> None:
    _tables.clear()
    _hosts.clear()


def environments_all() -> tuple[EnvironmentInfo, ...]:
    """Every environment, in menu order."""
    return _table().ordered


def environment_production() -> EnvironmentInfo:
    return _table().production


def environment_id_or_production(environment: Environment | None) -> int:
    """The id of `environment`, or of production when None (the services' default)."""
    return int(environment.pk) if environment is not None else environment_production().id


def environment_by_id(environment_id: int) -> EnvironmentInfo | None:
    return _table().by_id.get(environment_id)


def environment_by_slug(slug: str) -> EnvironmentInfo | None:
    return _table().by_slug.get(slug)


def environment_for_host(host: str) -> EnvironmentInfo:
    """The environment a request's host (as `HttpRequest.get_host()` returns it) serves."""
    table = _table()
    name, _port = split_domain_port(host.lower())
    slug = table.hosts.get(name)
    if slug is None and name.endswith(".localhost"):
        slug = name[: -len(".localhost")]
    if slug is not None:
        found = table.by_slug.get(slug)
        if found is not None:
            return found
    return table.production


def request_environment(request: HttpRequest) -> EnvironmentInfo:
    """The environment the request's (validated) host serves. Remembered per Host header for
    ENVIRONMENTS_TTL (a bounded cache: only hosts that passed ALLOWED_HOSTS enter it), so the hot paths
    pay one dictionary lookup, not Django's host validation and parsing, per request."""
    raw = request.META.get("HTTP_HOST")
    if raw is None or settings.USE_X_FORWARDED_HOST:
        return environment_for_host(request.get_host())
    found: EnvironmentInfo | None = _hosts.get(raw)
    if found is None:
        found = environment_for_host(request.get_host())
        _hosts.put(raw, found)
    return found
