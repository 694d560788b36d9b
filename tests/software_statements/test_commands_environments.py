"""`--environment` on create_registered_app, issue_software_statement and rotate_signing_keys: production
when omitted, the environment's domains, schemes, keys and issuer when given, a one-line error listing the
valid slugs for an unknown one."""

import io

import pytest
from django.core.management import CommandError, call_command

from registered_apps.environments import environment_by_id, environment_by_slug
from registered_apps.models import AuditEvent, CustomScheme, Environment, RegisteredApplication
from software_statements import keys
from software_statements.models import KeyState, SigningKey, SoftwareStatement
from software_statements.verify import StatementError, software_statement_verify
from tests.factories import make_application

VALID = "valid: prequal-staging, prequal-production, release-staging, release-production."


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def test_create_registered_app_in_staging_uses_staging_schemes_and_signs_for_staging(programmer, staging_channels):
    channel = staging_channels[0]
    staging = Environment.objects.get(slug="release-staging")
    scheme = CustomScheme.objects.get(channel=channel, environment=staging).scheme
    lines = run(
        "create_registered_app", "--programmer", "demo-networks", "--channel-level", channel.slug,
        "--name", "Staged", "--platform", "web", "--scope", "api:client:v2",
        "--domain", f"watch.{channel.slug}.example.com", "--redirect-uri", f"{scheme}://cb",
        "--environment", "release-staging", "--statement",
    )  # fmt: skip
    application = RegisteredApplication.objects.get(pk=lines[0])
    assert application.environment_id == staging.pk
    assert [d.environment_id for d in application.domains.all()] == [staging.pk]
    verified = software_statement_verify(lines[-1], environment_by_id(staging.pk))
    assert verified.claims["iss"] == "http://release-staging.localhost"
    with pytest.raises(StatementError, match=r"another environment|does not know"):
        software_statement_verify(lines[-1])


def test_create_registered_app_without_environment_is_production(programmer, channels):
    (app_id,) = run(
        "create_registered_app", "--programmer", "demo-networks", "--all-channels", "--name", "P",
        "--platform", "ios", "--scope", "api:client:v2",
    )  # fmt: skip
    application = RegisteredApplication.objects.get(pk=app_id)
    assert application.environment.is_production


def test_create_registered_app_refuses_a_production_scheme_in_staging(programmer, staging_channels):
    production_scheme = CustomScheme.objects.get(channel=staging_channels[0], environment__is_production=True).scheme
    with pytest.raises(CommandError, match="redirect_uris"):
        run(
            "create_registered_app", "--programmer", "demo-networks", "--all-channels", "--name", "X",
            "--platform", "ios", "--scope", "api:client:v2", "--redirect-uri", f"{production_scheme}://cb",
            "--environment", "release-staging",
        )  # fmt: skip
    assert not RegisteredApplication.objects.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["create_registered_app", "--programmer", "demo-networks", "--all-channels", "--name", "X",
         "--platform", "ios", "--scope", "api:client:v2", "--statement"],
        ["rotate_signing_keys"],
        ["create_programmer", "acme", "--name", "Acme", "--channel", "acme-one", "--domain", "acme-one:a.example.com"],
    ],
)  # fmt: skip
def test_an_unknown_environment_is_a_one_line_error_listing_the_valid_slugs(programmer, channels, command):
    events = AuditEvent.objects.count()
    with pytest.raises(CommandError) as raised:
        run(*command, "--environment", "staging")
    message = str(raised.value)
    assert message == f"--environment: no environment “staging”; {VALID}"
    assert AuditEvent.objects.count() == events
    assert not RegisteredApplication.objects.exists() and not SigningKey.objects.exists()


def test_issue_software_statement_signs_with_the_applications_environment(programmer, staging_channels, staging):
    application = make_application(programmer, environment=staging)
    (token,) = run("issue_software_statement", str(application.pk))
    assert software_statement_verify(token, environment_by_id(staging.pk)).application.pk == application.pk
    (again,) = run("issue_software_statement", str(application.pk), "--environment", "release-staging")
    assert software_statement_verify(again, environment_by_id(staging.pk)).application.pk == application.pk


def test_issue_software_statement_refuses_another_environment(programmer, staging_channels, staging):
    application = make_application(programmer, environment=staging)
    with pytest.raises(CommandError) as raised:
        run("issue_software_statement", str(application.pk), "--environment", "release-production")
    assert str(raised.value) == (
        f"Application {application.pk} is in Release Staging (release-staging), not release-production; "
        "its statements work only there."
    )
    with pytest.raises(CommandError, match="valid: prequal-staging"):
        run("issue_software_statement", str(application.pk), "--environment", "nowhere")
    assert not SoftwareStatement.objects.exists()


def test_rotate_signing_keys_in_one_environment_leaves_the_others(db):
    staging = environment_by_slug("release-staging")
    assert staging is not None
    production_kid = keys.signing_key_active("statement").kid
    staging_kid = keys.signing_key_active("statement", environment_id=staging.id).kid
    lines = run("rotate_signing_keys", "--purpose", "statement", "--environment", "release-staging")
    assert len(lines) == 1 and lines[0].startswith("release-staging statement: active ")
    assert SigningKey.objects.get(kid=staging_kid).state == KeyState.RETIRING
    assert keys.signing_key_active("statement").kid == production_kid
    event = AuditEvent.objects.get(action="signing_key.rotate")
    assert event.details["environment"] == staging.id


def test_rotate_signing_keys_defaults_to_production(db):
    staging = environment_by_slug("release-staging")
    assert staging is not None
    staging_kid = keys.signing_key_active("access_token", environment_id=staging.id).kid
    production_kid = keys.signing_key_active("access_token").kid
    (line,) = run("rotate_signing_keys", "--purpose", "access_token")
    assert line.startswith("release-production access_token: ")
    assert SigningKey.objects.get(kid=production_kid).state == KeyState.RETIRING
    assert SigningKey.objects.get(kid=staging_kid).state == KeyState.ACTIVE


def test_rotate_signing_keys_in_every_environment(db):
    lines = run("rotate_signing_keys", "--all-environments")
    slugs = [e.slug for e in Environment.objects.order_by("order")]
    assert [line.split(":")[0] for line in lines] == [
        f"{slug} {purpose}" for slug in slugs for purpose in ("statement", "access_token")
    ]
    for environment in Environment.objects.all():
        for purpose in ("statement", "access_token"):
            active = SigningKey.objects.get(environment=environment, purpose=purpose, state=KeyState.ACTIVE)
            assert SigningKey.objects.filter(environment=environment, purpose=purpose, state=KeyState.RETIRING).count()
            assert active.environment_id == environment.pk


def test_rotate_signing_keys_takes_one_environment_or_all_not_both(db):
    with pytest.raises(CommandError, match="not allowed with"):
        run("rotate_signing_keys", "--environment", "release-staging", "--all-environments")
    assert not SigningKey.objects.exists()
