"""What the API scenarios need in the database, built through the project's own services.

Runs in the harness process after django.setup() under the benchmark settings, before gunicorn starts.
"""

from dataclasses import dataclass
from typing import Any

from registered_apps import services as registered_apps_services
from registered_apps.models import RegisteredApplication

ACTOR = "command:bench"
HOST = "watch.bench-tv.example.com"


@dataclass(frozen=True)
class ApiSeed:
    application: RegisteredApplication
    redirect_uri: str
    # The compact JWS, or None with the reason it could not be issued.
    statement: str | None
    statement_missing: str


def _issue_statement(application: RegisteredApplication) -> tuple[str | None, str]:
    try:
        from software_statements.services import software_statement_issue  # type: ignore[attr-defined]
    except ImportError as exc:
        return None, f"software_statements.services.software_statement_issue is not available ({exc})"
    result: Any = software_statement_issue(application=application, actor=ACTOR)
    # It returns the compact JWS, alone or next to its registry row.
    candidates = result if isinstance(result, tuple | list) else (result,)
    token = next((item for item in candidates if isinstance(item, str)), None)
    if token is None:
        return None, f"software_statement_issue returned no compact JWS ({type(result).__name__})"
    return token, ""


def seed_api() -> ApiSeed:
    programmer = registered_apps_services.programmer_create(slug="bench-networks", name="Bench Networks", actor=ACTOR)
    channel = registered_apps_services.channel_create(
        programmer=programmer, slug="bench-tv", name="Bench TV", actor=ACTOR
    )
    registered_apps_services.channel_domain_add(channel=channel, host=HOST, actor=ACTOR)
    scheme = channel.custom_schemes.get().scheme
    redirect_uri = f"{scheme}://auth/callback"
    application = registered_apps_services.registered_application_create(
        programmer=programmer,
        level="programmer",
        all_channels=True,
        platforms=["ios", "tvos", "android", "web"],
        scopes=["api:client:v2"],
        domains=[HOST],
        redirect_uris=[redirect_uri, f"https://{HOST}/callback"],
        name="Bench Player",
        actor=ACTOR,
    )
    statement, missing = _issue_statement(application)
    return ApiSeed(
        application=application,
        redirect_uri=redirect_uri,
        statement=statement,
        statement_missing=missing,
    )
