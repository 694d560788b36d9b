"""Reading the environment: the one `environ.Env` of the settings modules and the parsers of our own
value formats. Each raises ImproperlyConfigured with the variable's name on a malformed value."""

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def env_key_list(name: str) -> list[str]:
    """A comma-separated list of keys, spaces around each stripped, empty entries dropped."""
    return [key.strip() for key in env.str(name, default="").split(",") if key.strip()]


def env_environment_hosts(name: str) -> dict[str, str]:
    """`slug=host,slug=host` -> {slug: host}: the host that serves each environment's API."""
    hosts: dict[str, str] = {}
    for entry in env.str(name, default="").split(","):
        if not entry.strip():
            continue
        slug, separator, host = entry.partition("=")
        if not separator or not slug.strip() or not host.strip():
            raise ImproperlyConfigured(f"{name} entries look like release-staging=api-staging.example.com.")
        hosts[slug.strip()] = host.strip().lower()
    return hosts


def env_token_success_status(name: str, default: int) -> int:
    """200 (RFC 6749 5.1, what standard OAuth client libraries check for), or 201 for clients written
    against the original service's documentation (README "Standard clients")."""
    status = env.str(name, default=str(default)).strip()
    if status not in ("200", "201"):
        raise ImproperlyConfigured(f"{name} must be 200 (RFC 6749 5.1) or 201 (the original's).")
    return int(status)
