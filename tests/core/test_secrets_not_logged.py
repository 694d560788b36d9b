"""Secrets never reach a log line, an error report or an error body.

The whole flow runs through the real HTTP stack (dashboard sign-in and statement download, admin sign-in,
its pages and its download, registration, tokens by body and by HTTP Basic, the session API,
introspection, revocation, refused attempts) with every logger at DEBUG (SQL included: the connection's
debug cursor is forced, settings.DEBUG stays False as in production so the error-report filters run as
they do there) and error reports forced: ADMINS set so AdminEmailHandler mails to the locmem outbox, and
real database failures (a trigger that refuses an INSERT) on an API path and on a dashboard path while
secrets are in scope. Everything captured - each record formatted as plain text and as JSON with its
extra attributes, every mail's subject, text and HTML, every error response and admin page - is then
searched for every secret the test saw: passwords, statements, client secrets (sent wrong ones too),
access tokens, the signing keys' private PEM and the key-encryption key. The client secret's HMAC hash in
the SQL parameters is not a secret and is not searched for.
"""

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import override_settings
from django.utils.log import AdminEmailHandler

from core.json_log import JSONFormatter
from oauth.models import Client, DeniedToken
from registered_apps.models import AuditEvent
from software_statements.keys import signing_private_key
from software_statements.models import SigningKey, SoftwareStatement
from tests.hot_state import hot_state_clear
from tests.oauth.api import INTROSPECT, REVOKE, SESSION, basic, register, token_request
from tests.two_factor import staff_sign_in_data

PASSWORD = "password-for-tests"
BROKER_PASSWORD = "broker-password-for-tests"
BROKER_URL = f"redis://:{BROKER_PASSWORD}@redis.internal:6379/0"
_STANDARD_RECORD_FIELDS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class Capture(logging.Handler):
    """Keeps every record as text three ways: plain, JSON, and the repr of each extra attribute."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.plain = logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
        self.json = JSONFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.plain.format(record))
        self.texts.append(self.json.format(record))
        self.texts.extend(repr(value) for key, value in vars(record).items() if key not in _STANDARD_RECORD_FIELDS)


@pytest.fixture
def captured() -> Iterator[Capture]:
    """Every logger at DEBUG into one capture, and error mails from the root logger as well as Django's."""
    capture = Capture()
    mailer = AdminEmailHandler(include_html=True)
    mailer.setLevel(logging.ERROR)
    root = logging.getLogger()
    loggers = [root] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if not logger.propagate:
            logger.addHandler(capture)
    root.addHandler(capture)
    root.addHandler(mailer)
    connection.force_debug_cursor = True
    try:
        # A setting with an innocent name holding a URL with a password, as REDIS_URL does in production.
        with override_settings(ADMINS=[("Ops", "ops@example.com")], DEBUG=False, DCR_EXAMPLE_URL=BROKER_URL):
            yield capture
    finally:
        connection.force_debug_cursor = False
        root.removeHandler(mailer)
        for logger, level, disabled in saved:
            logger.removeHandler(capture)
            logger.setLevel(level)
            logger.disabled = disabled


def refuse_inserts(table: str) -> None:
    """A real database failure: the next INSERT into `table` raises inside the database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE OR REPLACE FUNCTION refuse_insert() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'forced failure'; END; $$ LANGUAGE plpgsql"
            )
            cursor.execute(f'CREATE TRIGGER refuse_insert BEFORE INSERT ON "{table}" EXECUTE FUNCTION refuse_insert()')
        else:
            cursor.execute(
                f'CREATE TRIGGER refuse_insert BEFORE INSERT ON "{table}" '
                "BEGIN SELECT RAISE(ABORT, 'forced failure'); END"
            )


def allow_inserts(table: str) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f'DROP TRIGGER refuse_insert ON "{table}"')
        else:
            cursor.execute("DROP TRIGGER refuse_insert")


def pem_lines(key: SigningKey) -> list[str]:
    from cryptography.hazmat.primitives import serialization

    pem = (
        signing_private_key(key)
        .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        .decode()
    )
    return [line for line in pem.splitlines() if not line.startswith("-----")]


def form(client, path: str, data: dict[str, str], **extra: str):
    return client.post(path, data=urlencode(data), content_type="application/x-www-form-urlencoded", **extra)


# Transactional: on PostgreSQL a refused INSERT outside a savepoint ends the transaction it ran in.
@pytest.mark.django_db(transaction=True)
def test_no_secret_reaches_logs_error_reports_or_error_bodies(
    client, captured, rw_user, tam, programmer, channels, application, django_user_model
):
    hot_state_clear()
    secrets: dict[str, str] = {
        "dashboard password": PASSWORD,
        "key-encryption key": settings.DCR_KEY_ENCRYPTION_KEY,
        "password in a URL setting": BROKER_PASSWORD,
    }
    seen: list[str] = []  # error bodies and admin pages

    def keep_if_error(response):
        if response.status_code >= 400:
            seen.append(response.content.decode(errors="replace"))
        return response

    # The dashboard: sign in with a password, download a statement.
    dashboard = client.__class__()
    assert dashboard.post("/accounts/login/", {"username": "rw", "password": PASSWORD}).status_code == 302
    keep_if_error(dashboard.post("/accounts/login/", {"username": "rw", "password": PASSWORD + "-wrong"}))
    secrets["wrong dashboard password"] = PASSWORD + "-wrong"
    download = dashboard.post(f"/applications/{application.pk}/statement/download")
    assert download.status_code == 200
    statement = download.content.decode().strip()
    secrets["statement (dashboard)"] = statement

    # The admin: sign in, download a statement there too.
    staff = client.__class__()
    sign_in = {"username": "tam", "password": PASSWORD, **staff_sign_in_data(tam)}
    assert staff.post("/admin/login/", sign_in).status_code == 302
    admin_download = staff.post(f"/staff/applications/{application.pk}/statement/download")
    assert admin_download.status_code == 200
    secrets["statement (admin)"] = admin_download.content.decode().strip()

    # Registration, tokens by body and by HTTP Basic, the session API, introspection, revocation.
    registered = register(client, statement, HTTP_USER_AGENT="MyApp/1.0 CFNetwork Darwin")
    assert registered.status_code == 201, registered.content
    client_id, client_secret = registered.json()["client_id"], registered.json()["client_secret"]
    secrets["client secret"] = client_secret
    by_body = token_request(
        client, {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
    )
    assert by_body.status_code == 200, by_body.content
    by_basic = token_request(
        client, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, client_secret)
    )
    assert by_basic.status_code == 200, by_basic.content
    access_token, second_token = by_body.json()["access_token"], by_basic.json()["access_token"]
    secrets["access token"], secrets["second access token"] = access_token, second_token
    assert client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {access_token}").status_code == 200
    body_credentials = {"client_id": client_id, "client_secret": client_secret}
    introspected = form(client, INTROSPECT, {"token": access_token, **body_credentials})
    assert introspected.status_code == 200 and introspected.json()["active"] is True
    assert form(client, REVOKE, {"token": access_token, **body_credentials}).status_code == 200
    keep_if_error(client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {access_token}"))

    # RFC 7592: read, rotate (a new secret and registration access token), a refused old token, and an
    # update that fails inside the server (its audit event's INSERT refused) while the new ones are in scope.
    registration_token = registered.json()["registration_access_token"]
    secrets["registration access token"] = registration_token
    configuration = urlsplit(registered.json()["registration_client_uri"]).path
    assert client.get(configuration, HTTP_AUTHORIZATION=f"Bearer {registration_token}").status_code == 200
    update = json.dumps({"client_id": client_id, "client_secret": client_secret})
    rotated = client.put(
        configuration, data=update, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {registration_token}"
    )
    assert rotated.status_code == 200, rotated.content
    secrets["rotated client secret"] = rotated.json()["client_secret"]
    secrets["rotated registration access token"] = rotated_token = rotated.json()["registration_access_token"]
    keep_if_error(client.get(configuration, HTTP_AUTHORIZATION=f"Bearer {registration_token}"))
    refuse_inserts(AuditEvent._meta.db_table)
    try:
        failed = keep_if_error(
            client.put(
                configuration,
                data=json.dumps({"client_id": client_id, "client_secret": secrets["rotated client secret"]}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {rotated_token}",
            )
        )
    finally:
        allow_inserts(AuditEvent._meta.db_table)
    assert failed.status_code == 500 and failed.json()["error"] == "server_error"

    # Refused attempts: a wrong secret (one character off), a tampered token, a tampered statement.
    wrong_secret = client_secret[:-1] + ("A" if client_secret[-1] != "A" else "B")
    secrets["wrong client secret"] = wrong_secret
    wrong = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": wrong_secret}
    keep_if_error(token_request(client, wrong))
    keep_if_error(
        token_request(client, {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=basic(client_id, wrong_secret))
    )
    tampered_token = second_token[:-4] + "AAAA"
    secrets["tampered access token"] = tampered_token
    keep_if_error(client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {tampered_token}"))
    keep_if_error(form(client, INTROSPECT, {"token": tampered_token, "client_id": client_id, "client_secret": "x"}))
    tampered_statement = statement[:-4] + "AAAA"
    secrets["tampered statement"] = tampered_statement
    keep_if_error(register(client, tampered_statement))

    # Admin pages that show clients, statements and keys.
    statement_row = SoftwareStatement.objects.filter(application=application).first()
    client_row = Client.objects.get(client_id=client_id)
    for path in (
        "/admin/oauth/client/",
        f"/admin/oauth/client/{client_row.pk}/change/",
        "/admin/software_statements/softwarestatement/",
        f"/admin/software_statements/softwarestatement/{statement_row.pk}/change/",
        "/admin/software_statements/signingkey/",
        *(f"/admin/software_statements/signingkey/{key.pk}/change/" for key in SigningKey.objects.all()),
        "/admin/registered_apps/auditevent/",
        "/admin/oauth/deniedtoken/",
    ):
        page = staff.get(path)
        assert page.status_code == 200, path
        seen.append(page.content.decode())

    # Forced errors while secrets are in scope: on the API (registration, revocation) and on the dashboard.
    mail.outbox.clear()
    refuse_inserts(Client._meta.db_table)
    try:
        failed = keep_if_error(register(client, secrets["statement (admin)"]))
    finally:
        allow_inserts(Client._meta.db_table)
    assert failed.status_code == 500 and failed.json()["error"] == "server_error"
    refuse_inserts(DeniedToken._meta.db_table)
    try:
        failed = keep_if_error(form(client, REVOKE, {"token": second_token, **body_credentials}))
    finally:
        allow_inserts(DeniedToken._meta.db_table)
    assert failed.status_code == 500 and failed.json()["error"] == "server_error"
    dashboard.raise_request_exception = False
    refuse_inserts(SoftwareStatement._meta.db_table)
    try:
        failed = keep_if_error(dashboard.post(f"/applications/{application.pk}/statement/download"))
    finally:
        allow_inserts(SoftwareStatement._meta.db_table)
    assert failed.status_code == 500
    reports = [message for message in mail.outbox if "forced failure" in message.body]
    assert len(reports) >= 3, [message.subject for message in mail.outbox]
    assert any("redis://:********@redis.internal" in message.body for message in reports)

    # The signing keys as they are now (the flow made them).
    for key in SigningKey.objects.all():
        for number, line in enumerate(pem_lines(key)):
            secrets[f"private key {key.kid} line {number}"] = line

    everything = list(captured.texts) + seen
    for message in mail.outbox:
        everything += [message.subject, message.body]
        everything += [content for content, _mimetype in getattr(message, "alternatives", [])]
    assert len(captured.texts) > 100 and any("INSERT" in text for text in captured.texts)  # SQL was captured
    assert any(_logged(text).get("path") == "/o/client/token" and client_id in text for text in captured.texts)
    haystack = "\n".join(everything)
    leaks = {name: value[:12] + "..." for name, value in secrets.items() if len(value) >= 16 and value in haystack}
    assert not leaks, f"secrets found in logs, error reports or error bodies: {json.dumps(leaks, indent=1)}"


def _logged(text: str) -> dict[str, Any]:
    """A JSON log line's fields ({} for any other text)."""
    try:
        fields = json.loads(text)
    except ValueError:
        return {}
    return fields if isinstance(fields, dict) else {}
