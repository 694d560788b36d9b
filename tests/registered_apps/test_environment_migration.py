"""README "Environments": the environments migration brings every existing row into production, and nothing
issued before it stops working. The real migrations run backwards to the schema before environments,
rows (and a signed statement) are written there with the models of that time, then the migrations run
forwards again. Also: a row made today without an environment is production's."""

import time
import uuid

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from jwcrypto.jwk import JWK

from core import process_state
from registered_apps.environments import environment_by_slug, environment_production
from registered_apps.models import ChannelDomain, CustomScheme, Environment, RegisteredApplication
from software_statements import keys
from software_statements.jws import sign_compact
from software_statements.models import SigningKey, SoftwareStatement
from software_statements.verify import StatementError, software_statement_verify
from tests.factories import ChannelFactory, make_application

BEFORE = [("registered_apps", "0002_catalogs"), ("software_statements", "0001_initial")]


def _latest(executor: MigrationExecutor) -> list[tuple[str, str]]:
    return [
        node for node in executor.loader.graph.leaf_nodes() if node[0] in ("registered_apps", "software_statements")
    ]


def _old_statement_key(apps) -> tuple[object, object]:
    """An active statement key as the code before environments stored it: Fernet-encrypted PKCS#8."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fernet = Fernet(str(settings.DCR_KEY_ENCRYPTION_KEY).split(",")[0].strip())
    kid = "pre-environments-kid"
    public = JWK.from_pyca(private_key.public_key()).export_public(as_dict=True)
    public.update({"kid": kid, "alg": "RS256", "use": "sig"})
    key = apps.get_model("software_statements", "SigningKey").objects.create(
        kid=kid,
        purpose="statement",
        algorithm="RS256",
        state="active",
        private_key_encrypted=fernet.encrypt(pem).decode("ascii"),
        public_jwk=public,
        activated_at=timezone.now(),
    )
    return key, private_key


@pytest.mark.django_db(transaction=True)
def test_migration_brings_existing_rows_into_production_and_old_statements_keep_verifying(settings):
    settings.DCR_STATEMENT_ALGORITHM = "RS256"
    executor = MigrationExecutor(connection)
    latest = _latest(executor)
    executor.migrate(BEFORE)
    try:
        apps = executor.loader.project_state(BEFORE).apps
        programmer = apps.get_model("registered_apps", "Programmer").objects.create(slug="old-tv", name="Old TV")
        channel = apps.get_model("registered_apps", "Channel").objects.create(
            programmer=programmer, slug="old-one", name="Old One"
        )
        domain = apps.get_model("registered_apps", "ChannelDomain").objects.create(
            channel=channel, host="old.example.com"
        )
        scheme = apps.get_model("registered_apps", "CustomScheme").objects.create(
            channel=channel, scheme="adbe.u-" + "A" * 22
        )
        application = apps.get_model("registered_apps", "RegisteredApplication").objects.create(
            programmer=programmer, level="programmer", all_channels=True, name="Old App", version="1.0.0"
        )
        application.platforms.set([apps.get_model("registered_apps", "Platform").objects.get(code="ios")])
        application.scopes.set([apps.get_model("registered_apps", "Scope").objects.get(code="api:client:v2")])
        key, private_key = _old_statement_key(apps)
        jti = uuid.uuid4()
        issued_at = int(time.time()) - 60
        token = sign_compact(
            {
                "iss": settings.DCR_ISSUER,
                "iat": issued_at,
                "jti": str(jti),
                "software_id": str(application.pk),
                "software_version": "1.0.0",
                "client_name": "Old App",
                "programmer": "old-tv",
                "channels": ["old-one"],
                "platforms": ["ios"],
                "scope": "api:client:v2",
                "redirect_uris": [],
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "client_secret_post",
            },
            kid=key.kid,
            algorithm="RS256",
            private_key=private_key,
        )
        apps.get_model("software_statements", "SoftwareStatement").objects.create(
            jti=jti, application=application, kid=key.kid, issued_at=timezone.now(), issued_by_label="tests"
        )
    finally:
        executor.loader.build_graph()
        executor.migrate(latest)
    process_state.reset()
    keys.clear_key_caches()

    production = Environment.objects.get(is_production=True)
    assert production.slug == "release-production"
    assert sorted(Environment.objects.values_list("slug", flat=True)) == [
        "prequal-production",
        "prequal-staging",
        "release-production",
        "release-staging",
    ]
    assert ChannelDomain.objects.get(pk=domain.pk).environment_id == production.pk
    assert CustomScheme.objects.get(pk=scheme.pk).environment_id == production.pk
    assert RegisteredApplication.objects.get(pk=application.pk).environment_id == production.pk
    assert SigningKey.objects.get(kid=key.kid).environment_id == production.pk

    # The statement signed before the migration registers in production, and only there.
    verified = software_statement_verify(token)
    assert verified.statement.jti == jti and verified.application.pk == application.pk
    staging = environment_by_slug("release-staging")
    with pytest.raises(StatementError):
        software_statement_verify(token, staging)
    # The old key is still production's active statement key: new statements are signed with it.
    assert keys.signing_key_active("statement").kid == key.kid
    assert SoftwareStatement.objects.get(pk=jti).application_id == application.pk


@pytest.mark.django_db
def test_rows_made_without_an_environment_are_productions(programmer):
    production_id = environment_production().id
    channel = ChannelFactory(programmer=programmer, slug="plain")
    assert channel.domains.get().environment_id == production_id
    assert channel.custom_schemes.get().environment_id == production_id
    assert make_application(programmer, name="Plain").environment_id == production_id
    assert keys.signing_key_active("statement").environment_id == production_id
