"""Migration oauth 0005 on a database migrated while django-oauth-toolkit was installed (README
"Architecture", "No OAuth toolkit"): the package's tables, its django_migrations rows and its content types
(with their permissions) go, and the clients stay as they were. The test database itself, migrated from
nothing, is the fresh case: there the tables never existed and the migration still applies.

The real migrations run back to oauth 0004; the package's tables are made there as it made them (the
token tables referring to each other both ways and to oauth_client), with a row in one, then the
migrations run forwards again, on PostgreSQL or SQLite as DATABASE_URL says."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder

from oauth.models import Client
from tests.factories import make_clients

BEFORE = [("oauth", "0004_client_configuration_endpoint")]
TOOLKIT_TABLES = {
    "oauth2_provider_accesstoken",
    "oauth2_provider_refreshtoken",
    "oauth2_provider_idtoken",
    "oauth2_provider_grant",
    "oauth2_provider_devicegrant",
}


def _toolkit_tables_make(client_pk: int) -> None:
    with connection.cursor() as cursor:
        for table in ("oauth2_provider_idtoken", "oauth2_provider_grant", "oauth2_provider_devicegrant"):
            cursor.execute(
                f'CREATE TABLE "{table}" (id bigint PRIMARY KEY, application_id bigint REFERENCES "oauth_client" (id))'
            )
        cursor.execute(
            'CREATE TABLE "oauth2_provider_accesstoken" (id bigint PRIMARY KEY, '
            'application_id bigint REFERENCES "oauth_client" (id), '
            'id_token_id bigint REFERENCES "oauth2_provider_idtoken" (id), source_refresh_token_id bigint)'
        )
        cursor.execute(
            'CREATE TABLE "oauth2_provider_refreshtoken" (id bigint PRIMARY KEY, '
            'application_id bigint REFERENCES "oauth_client" (id), '
            'access_token_id bigint REFERENCES "oauth2_provider_accesstoken" (id))'
        )
        if connection.vendor == "postgresql":  # the reference back, as the package's migrations add it
            cursor.execute(
                'ALTER TABLE "oauth2_provider_accesstoken" ADD CONSTRAINT "source_refresh_token_fk" '
                'FOREIGN KEY (source_refresh_token_id) REFERENCES "oauth2_provider_refreshtoken" (id)'
            )
        cursor.execute('INSERT INTO "oauth2_provider_grant" (id, application_id) VALUES (1, %s)', [client_pk])


@pytest.mark.django_db(transaction=True)
def test_the_toolkit_tables_rows_and_permissions_go_and_the_clients_stay(application):
    (kept,) = make_clients(application, 1, prefix="kept")
    before = Client.objects.filter(pk=kept.pk).values().get()
    executor = MigrationExecutor(connection)
    latest = [node for node in executor.loader.graph.leaf_nodes() if node[0] == "oauth"]
    executor.migrate(BEFORE)
    try:
        _toolkit_tables_make(kept.pk)
        MigrationRecorder(connection).record_applied("oauth2_provider", "0001_initial")
        content_type = ContentType.objects.create(app_label="oauth2_provider", model="accesstoken")
        permission = Permission.objects.create(
            content_type=content_type, codename="view_accesstoken", name="Can view access token"
        )
        Group.objects.create(name="toolkit readers").permissions.add(permission)
        assert set(connection.introspection.table_names()) >= TOOLKIT_TABLES
    finally:
        executor.loader.build_graph()
        executor.migrate(latest)

    assert not TOOLKIT_TABLES & set(connection.introspection.table_names())
    assert not MigrationRecorder(connection).migration_qs.filter(app="oauth2_provider").exists()
    assert not ContentType.objects.filter(app_label="oauth2_provider").exists()
    assert not Permission.objects.filter(codename="view_accesstoken").exists()
    assert not Group.objects.get(name="toolkit readers").permissions.exists()
    assert Client.objects.filter(pk=kept.pk).values().get() == before
