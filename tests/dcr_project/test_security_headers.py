"""Security headers on the dashboard, the admin and the API; the production settings' HTTPS switches and
`check --deploy`; the request id."""

import json
import os
import secrets
import subprocess
import sys
import uuid

import pytest
from cryptography.fernet import Fernet

from tests.processes import ROOT

CSP_DIRECTIVES = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "object-src": "'none'",
}


def assert_security_headers(response) -> None:
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    for name, value in CSP_DIRECTIVES.items():
        assert directives.get(name) == value, (name, policy)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert len(response["X-Request-ID"]) >= 8


def test_dashboard_pages_carry_the_security_headers(client, login_as, rw_user, application):
    assert_security_headers(client.get("/accounts/login/"))
    signed_in = login_as(rw_user)
    for path in ("/", f"/applications/{application.pk}/", f"/programmers/{application.programmer.slug}/usage/"):
        response = signed_in.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response)
    assert_security_headers(signed_in.get("/no-such-page/"))


def test_admin_pages_carry_the_security_headers(client, login_as, tam, application):
    assert_security_headers(client.get("/admin/login/"))
    signed_in = login_as(tam)
    for path in ("/admin/", "/admin/registered_apps/registeredapplication/", "/admin/oauth/client/"):
        response = signed_in.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/.well-known/oauth-authorization-server", 200),
        ("get", "/.well-known/jwks.json", 200),
        ("get", "/api/docs/", 200),
        ("get", "/api/v2/session", 401),
        ("post", "/o/client/token", 400),
        ("post", "/o/client/register", 400),
        ("get", "/o/client/nothing-here", 404),
        ("get", "/o/client/token", 405),
    ],
)
def test_api_responses_carry_the_security_headers_errors_included(db, client, method, path, status):
    response = getattr(client, method)(path)

    assert response.status_code == status
    assert_security_headers(response)


def test_session_and_csrf_cookies_are_http_only_and_same_site(client, rw_user):
    page = client.get("/accounts/login/")
    token = page.cookies["csrftoken"]
    assert token["httponly"] and token["samesite"] == "Lax"
    response = client.post(
        "/accounts/login/",
        {"username": "rw", "password": "password-for-tests", "csrfmiddlewaretoken": page.context["csrf_token"]},
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["httponly"] and session["samesite"] == "Lax"


def test_a_well_formed_request_id_is_returned_and_a_malformed_one_replaced(db, client):
    given = str(uuid.uuid4())
    assert client.get("/.well-known/jwks.json", HTTP_X_REQUEST_ID=given)["X-Request-ID"] == given
    for hostile in ("short", "has space in it", "x" * 200, "line\nbreak-1234", '"quoted-12345"'):
        returned = client.get("/.well-known/jwks.json", HTTP_X_REQUEST_ID=hostile)["X-Request-ID"]
        assert returned != hostile and len(returned) == 32 and int(returned, 16) >= 0


# --- Production settings ---------------------------------------------------------------------------


def production(code: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run `code` with the production settings in a fresh interpreter (they read the environment at import)."""
    # Not DJANGO_ALLOW_ASYNC_UNSAFE either: the browser tests set it in this process, and deploy checks refuse it.
    prefixes = ("DCR_", "SECRET_KEY", "LOG_", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    env.update(
        DJANGO_SETTINGS_MODULE="dcr_project.settings.production",
        SECRET_KEY=secrets.token_urlsafe(36),  # 48 characters
        DCR_KEY_ENCRYPTION_KEY=Fernet.generate_key().decode(),
    )
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


SHOW_SETTINGS = (
    "import json, dcr_project.settings.production as s; print(json.dumps({name: getattr(s, name, None) for name in "
    "['SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', "
    "'SECURE_PROXY_SSL_HEADER', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
    "'CSRF_COOKIE_HTTPONLY', 'SILENCED_SYSTEM_CHECKS', 'LOG_FORMAT']}))"
)
CHECK_DEPLOY = "import django, sys; from django.core.management import call_command; django.setup(); " + (
    "call_command('check', deploy=True, fail_level='DEBUG')"
)


def test_check_deploy_is_clean_under_the_production_settings():
    result = production(CHECK_DEPLOY)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "System check identified no issues" in result.stdout, result.stdout


def test_production_defaults_to_https_only_with_hsts_and_secure_cookies():
    result = production(SHOW_SETTINGS)

    assert result.returncode == 0, result.stderr[-2000:]
    values = json.loads(result.stdout)
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"] and values["CSRF_COOKIE_HTTPONLY"]
    assert values["SILENCED_SYSTEM_CHECKS"] == ["security.W009", "security.W021"]
    assert values["LOG_FORMAT"] == "json"


def test_a_proxy_that_terminates_tls_can_take_over_redirect_and_hsts_and_deploy_checks_stay_clean():
    switches = {"DCR_SECURE_SSL_REDIRECT": "false", "DCR_HSTS_SECONDS": "0", "DCR_SECURE_PROXY_SSL_HEADER": "false"}
    values = json.loads(production(SHOW_SETTINGS, **switches).stdout)

    assert values["SECURE_SSL_REDIRECT"] is False and values["SECURE_HSTS_SECONDS"] == 0
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert set(values["SILENCED_SYSTEM_CHECKS"]) == {"security.W009", "security.W021", "security.W008", "security.W004"}
    assert "System check identified no issues" in production(CHECK_DEPLOY, **switches).stdout


@pytest.mark.parametrize(
    "secret_key",
    ["", "short-" + secrets.token_urlsafe(8), "django-insecure-" + secrets.token_urlsafe(40), "ab" * 30],
    ids=["missing", "short", "django-insecure", "few distinct characters"],
)
def test_production_refuses_a_weak_secret_key_without_showing_it(secret_key):
    result = production(SHOW_SETTINGS, SECRET_KEY=secret_key)

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in result.stderr, result.stderr[-2000:]
    if secret_key:
        assert secret_key not in result.stderr


def test_production_refuses_an_unknown_log_format():
    result = production(SHOW_SETTINGS, LOG_FORMAT="xml")

    assert result.returncode != 0 and "LOG_FORMAT must be plain or json" in result.stderr
