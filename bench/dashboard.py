"""The dashboard under data (README "Against the floor: `make bench`"; seeded by bench.dashboard_seed): the
application list and detail pages timed through the server with a logged-in session, and their queries counted
in-process with the same session.

Over the fleet (README "Against the floor: `make bench`"; the fleet is seeded by bench.fleet): the admin's client list
and its search by one client id, signed in as a TAM, and the dashboard's list and detail of the application that owns
the million clients, signed in as a read-write member of its programmer."""

import re
import secrets
import statistics
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from registered_apps.models import (
    Access,
    Membership,
    RegisteredApplication,
)

from . import http
from .dashboard_seed import DashboardSeed
from .names import DASHBOARD_TARGET_MS as TARGET_MS
from .names import FLEET_PAGE_TARGET_MS as FLEET_TARGET_MS

# --- The pages --------------------------------------------------------------------------------------


def _reverse(name: str, **kwargs: Any) -> str | None:
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


def pages(data: DashboardSeed) -> dict[str, tuple[str | None, str | None]]:
    """name -> (path on the big data, path on the small data), None when the page is not routed."""
    return {
        "dashboard_list": (
            _reverse("registered_apps:programmer_applications", programmer_slug=data.big_programmer.slug),
            _reverse("registered_apps:programmer_applications", programmer_slug=data.small_programmer.slug),
        ),
        "dashboard_detail": (
            _reverse("registered_apps:application_detail", application_id=data.big_application.pk),
            _reverse("registered_apps:application_detail", application_id=data.small_application.pk),
        ),
    }


def login(base_url: str, username: str, password: str, *, otp_token: str = "") -> dict[str, str]:
    """Log in like a browser; returns the cookies of the session. With `otp_token` (a staff member's
    second factor) through the admin's sign-in, which asks for the code on the same page."""
    path = "/admin/login/" if otp_token else "/accounts/login/"
    page = http.request(base_url, "GET", path)
    if page.status != 200:
        raise RuntimeError(f"GET {path} answered {page.status}")
    cookies = page.cookies()
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    if match is None or "csrftoken" not in cookies:
        raise RuntimeError("the login page carries no CSRF token")
    fields = {"username": username, "password": password, "csrfmiddlewaretoken": match.group(1).decode()}
    if otp_token:
        fields["otp_token"] = otp_token
    answer = http.request(
        base_url,
        "POST",
        path,
        http.form(fields),
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={cookies['csrftoken']}"},
    )
    cookies.update(answer.cookies())
    if answer.status != 302 or "sessionid" not in cookies:
        raise RuntimeError(f"logging in answered {answer.describe()}")
    return cookies


def _cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def _queries(cookies: dict[str, str], path: str) -> tuple[int, int]:
    client = Client()
    for name, value in cookies.items():
        client.cookies[name] = value
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response.status_code, len(captured.captured_queries)


def _page_entry(
    base_url: str, header: dict[str, str], cookies: dict[str, str], paths: tuple[str, str | None], *, requests: int
) -> dict[str, Any]:
    """One page: its median time over `requests` requests (after three that warm the workers up), and
    its queries on the big data and on the small (`paths`)."""
    path, small_path = paths
    timings: list[float] = []
    failures: list[str] = []
    for attempt in range(requests + 3):
        answer = http.request(base_url, "GET", path, headers=header)
        if answer.status != 200:
            failures.append(answer.describe())
        elif attempt >= 3:  # the first few warm both workers up
            timings.append(answer.elapsed_s * 1000)
    status, queries = _queries(cookies, path)
    small_status, small_queries = _queries(cookies, small_path) if small_path else (None, None)
    ok = not failures and status == 200 and small_status in (None, 200)
    entry = {
        "status": "ok" if ok else "failed",
        "path": path,
        "p50_ms": round(statistics.median(timings), 2) if timings else None,
        "p90_ms": round(statistics.quantiles(timings, n=10)[-1], 2) if len(timings) >= 2 else None,
        "requests": len(timings),
        "non_2xx": len(failures),
        "queries": queries,
        "queries_small_data": small_queries,
        "queries_constant": small_queries is not None and queries == small_queries,
        "target_p50_ms": TARGET_MS,
    }
    if failures:
        entry["first_failure"] = failures[0]
    return entry


def measure(base_url: str, data: DashboardSeed, *, requests: int) -> dict[str, dict[str, Any]]:
    """Median render time through gunicorn (sequential requests, one at a time) and query counts."""
    results: dict[str, dict[str, Any]] = {}
    routes = pages(data)
    if not any(big for big, _ in routes.values()):
        return {
            name: {"status": "not available", "reason": "the dashboard pages are not routed yet"} for name in routes
        }
    cookies = login(base_url, data.username, data.password)
    header = {"Cookie": _cookie_header(cookies)}
    for name, (path, small_path) in routes.items():
        if path is None:
            results[name] = {"status": "not available", "reason": "the page is not routed yet"}
            continue
        results[name] = _page_entry(base_url, header, cookies, (path, small_path), requests=requests)
    return results


# --- The pages over the fleet ----------------------------------------------------------------------


def _fleet_users(application: RegisteredApplication) -> tuple[tuple[str, str], tuple[str, str]]:
    """A TAM (staff superuser, for the admin) and a read-write member of the fleet's programmer."""
    tam_password, member_password = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    User.objects.create_superuser(username="bench-tam", email="bench-tam@example.com", password=tam_password)
    member = User.objects.create_user(
        username="bench-fleet-member", email="bench-fleet-member@example.com", password=member_password
    )
    Membership.objects.create(user=member, programmer=application.programmer, access=Access.READ_WRITE)
    return ("bench-tam", tam_password), ("bench-fleet-member", member_password)


def _tam_code(username: str) -> str:
    """The current code of the TAM's authenticator app (the admin asks staff for a second factor)."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=User.objects.get(username=username), name="bench", confirmed=True)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def _time_page(base_url: str, cookies: dict[str, str], path: str, expect: str, *, requests: int) -> dict[str, Any]:
    """Median of `requests` sequential requests through gunicorn after one per worker unmeasured, and the
    page's queries counted in-process with the same session."""
    header = {"Cookie": _cookie_header(cookies)}
    timings: list[float] = []
    failures: list[str] = []
    for attempt in range(requests + 2):
        answer = http.request(base_url, "GET", path, headers=header)
        if answer.status != 200 or expect.encode() not in answer.body:
            failures.append(answer.describe() if answer.status != 200 else f"200 without {expect!r}")
        elif attempt >= 2:
            timings.append(answer.elapsed_s * 1000)
    status, queries = _queries(cookies, path)
    entry: dict[str, Any] = {
        "status": "ok" if not failures and status == 200 else "failed",
        "path": path,
        "p50_ms": round(statistics.median(timings), 2) if timings else None,
        "max_ms": round(max(timings), 2) if timings else None,
        "requests": len(timings),
        "non_2xx": len(failures),
        "queries": queries,
        "target_p50_ms": FLEET_TARGET_MS,
    }
    if failures:
        entry["reason"] = failures[0]
    return entry


# The admin change list's table, rendered only when there are rows.
RESULT_LIST = 'id="result_list"'


def measure_fleet(base_url: str, api_seed: Any, *, fleet_clients: int, requests: int) -> dict[str, dict[str, Any]]:
    """The admin's client list and its searches by a client id and by the application's name (signed in
    as a TAM), and the dashboard's list and detail of the application that owns the fleet (signed in as
    a read-write member)."""
    from .fleet import client_id

    application = api_seed.application
    (tam, tam_password), (member, member_password) = _fleet_users(application)
    admin = login(base_url, tam, tam_password, otp_token=_tam_code(tam))
    dashboard = login(base_url, member, member_password)
    wanted = client_id(fleet_clients, fleet_clients // 2 + 1)
    list_path = reverse(
        "registered_apps:programmer_applications", kwargs={"programmer_slug": application.programmer.slug}
    )
    detail_path = reverse("registered_apps:application_detail", kwargs={"application_id": application.pk})
    # The audit events under the changes log (the log itself lists pushes).
    changes_path = reverse(
        "registered_apps:programmer_changes_audit", kwargs={"programmer_slug": application.programmer.slug}
    )
    return {
        # The newest clients come first, and the register scenario's clients are newer than the fleet:
        # the list and the search by name must show rows, not which.
        "admin_client_list": _time_page(base_url, admin, "/admin/oauth/client/", RESULT_LIST, requests=requests),
        "admin_client_search": _time_page(
            base_url, admin, f"/admin/oauth/client/?q={wanted}", f">{wanted}</a>", requests=requests
        ),
        # By the application's name: the clients of every application it matches (here all million).
        "admin_client_search_application": _time_page(
            base_url,
            admin,
            "/admin/oauth/client/?" + urlencode({"q": application.name}),
            RESULT_LIST,
            requests=requests,
        ),
        "dashboard_fleet_list": _time_page(base_url, dashboard, list_path, application.name, requests=requests),
        "dashboard_fleet_detail": _time_page(base_url, dashboard, detail_path, 'id="client-count"', requests=requests),
        # The programmer's audit events: a client.register event per client.
        "dashboard_fleet_changes": _time_page(base_url, dashboard, changes_path, "client.register", requests=requests),
    }
