"""The environment the dashboard shows and edits: picked from the menu at the top of every dashboard page,
kept in the session, production until the person picks another (README "Dashboard", Environments)."""

from django.http import HttpRequest

from .environments import EnvironmentInfo, environment_by_slug, environment_production

SESSION_KEY = "dcr_environment"


def dashboard_environment(request: HttpRequest) -> EnvironmentInfo:
    """The session's environment; production when none was chosen or the chosen one is gone."""
    slug = request.session.get(SESSION_KEY)
    found = environment_by_slug(slug) if isinstance(slug, str) else None
    return found or environment_production()


def dashboard_environment_set(request: HttpRequest, slug: str) -> EnvironmentInfo | None:
    """Remember an environment for the session; None (and nothing changed) when no environment has the slug."""
    found = environment_by_slug(slug)
    if found is not None:
        request.session[SESSION_KEY] = found.slug
    return found
