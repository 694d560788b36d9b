"""issue_software_statement, rotate_signing_keys and create_registered_app."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from registered_apps.models import AuditEvent, RegisteredApplication
from registered_apps.services import registered_application_revoke
from software_statements import keys
from software_statements.models import KeyState, SigningKey, SoftwareStatement
from software_statements.verify import software_statement_verify

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


@pytest.mark.django_db
def test_issue_software_statement_prints_a_verifiable_statement(application):
    (line,) = run("issue_software_statement", str(application.pk))
    verified = software_statement_verify(line)
    assert verified.application.pk == application.pk
    assert verified.statement.issued_by_label == "command:issue_software_statement"


@pytest.mark.django_db
@pytest.mark.parametrize("app_id", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_issue_software_statement_refuses_unknown_ids(db, app_id):
    with pytest.raises(CommandError):
        run("issue_software_statement", app_id)
    assert not SoftwareStatement.objects.exists()


@pytest.mark.django_db
def test_issue_software_statement_refuses_a_revoked_application(application):
    registered_application_revoke(application=application, reason="gone", actor="tests")
    with pytest.raises(CommandError, match="revoked"):
        run("issue_software_statement", str(application.pk))
    assert not SoftwareStatement.objects.exists()


@pytest.mark.django_db
def test_rotate_signing_keys_rotates_both_purposes_by_default(db):
    before = {purpose: keys.signing_key_active(purpose).kid for purpose in ("statement", "access_token")}
    lines = run("rotate_signing_keys")
    assert len(lines) == 2
    for purpose, old_kid in before.items():
        assert SigningKey.objects.get(kid=old_kid).state == KeyState.RETIRING
        assert keys.signing_key_active(purpose).kid != old_kid
    rotations = AuditEvent.objects.filter(action="signing_key.rotate", actor_label="command:rotate_signing_keys")
    assert rotations.count() == 2


@pytest.mark.django_db
def test_rotate_signing_keys_rotates_only_the_purpose_asked_for(db):
    token_kid = keys.signing_key_active("access_token").kid
    statement_kid = keys.signing_key_active("statement").kid
    run("rotate_signing_keys", "--purpose", "statement")
    assert keys.signing_key_active("access_token").kid == token_kid
    assert keys.signing_key_active("statement").kid != statement_kid


@pytest.mark.django_db
def test_create_registered_app_with_statement_prints_id_then_statement(programmer, channels):
    lines = run(
        "create_registered_app",
        "--programmer",
        "demo-networks",
        "--channel",
        channels[0].slug,
        "--channel",
        channels[1].slug,
        "--name",
        "Roku Player",
        "--version",
        "3.0.0",
        "--platform",
        "roku",
        "--platform",
        "web",
        "--scope",
        "api:client:v2",
        "--domain",
        f"watch.{channels[0].slug}.example.com",
        "--redirect-uri",
        f"https://watch.{channels[0].slug}.example.com/done",
        "--statement",
    )
    application = RegisteredApplication.objects.get(name="Roku Player")
    assert lines[0] == str(application.pk)
    assert application.version == "3.0.0"
    assert sorted(c.slug for c in application.channels.all()) == sorted([channels[0].slug, channels[1].slug])
    verified = software_statement_verify(lines[-1])
    assert verified.application.pk == application.pk
    assert verified.claims["platforms"] == ["roku", "web"]


@pytest.mark.django_db
def test_create_registered_app_all_channels_and_channel_level_without_statement(programmer, channels):
    (everywhere,) = run(
        "create_registered_app", "--programmer", "demo-networks", "--all-channels", "--name", "A",
        "--platform", "ios", "--scope", "api:client:v2",
    )  # fmt: skip
    (one,) = run(
        "create_registered_app", "--programmer", "demo-networks", "--channel-level", channels[2].slug,
        "--name", "B", "--platform", "android", "--scope", "api:client:v2",
    )  # fmt: skip
    assert RegisteredApplication.objects.get(pk=everywhere).all_channels
    assert RegisteredApplication.objects.get(pk=one).channel == channels[2]
    assert not SoftwareStatement.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "extra",
    [
        ["--programmer", "nobody", "--all-channels"],
        ["--programmer", "demo-networks", "--channel", "no-such-channel"],
        ["--programmer", "demo-networks", "--channel-level", "other-one"],
        ["--programmer", "demo-networks", "--all-channels", "--platform", "betamax"],
        ["--programmer", "demo-networks", "--all-channels", "--scope", "root"],
        ["--programmer", "demo-networks", "--all-channels", "--redirect-uri", "https://attacker.example/cb"],
        ["--programmer", "demo-networks", "--all-channels", "--platform", "web"],  # web needs a domain
    ],
)
def test_create_registered_app_bad_arguments_fail_in_one_line_and_create_nothing(channels, other_user, extra):
    arguments = ["--name", "X", "--platform", "ios", "--scope", "api:client:v2", "--statement", *extra]
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError) as raised:
        run("create_registered_app", *arguments)
    assert "\n" not in str(raised.value)
    assert not RegisteredApplication.objects.exists()
    assert not SoftwareStatement.objects.exists()
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_create_registered_app_with_a_duplicate_name_and_version_creates_nothing(programmer, channels):
    args = ["--programmer", "demo-networks", "--all-channels", "--name", "Dup", "--platform", "ios"]
    run("create_registered_app", *args, "--scope", "api:client:v2")
    with pytest.raises(CommandError, match="version"):
        run("create_registered_app", *args, "--scope", "api:client:v2", "--statement")
    assert RegisteredApplication.objects.count() == 1
    assert not SoftwareStatement.objects.exists()


def test_create_registered_app_usage_error_exits_non_zero_with_one_line():
    """Argument errors need no database: run the real command line."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dcr_project.settings.test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "create_registered_app", "--programmer", "p", "--name", "n",
         "--platform", "ios", "--scope", "s", "--all-channels", "--channel-level", "c"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "not allowed with" in result.stderr
