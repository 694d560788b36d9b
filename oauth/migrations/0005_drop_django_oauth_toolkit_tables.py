"""Drop what django-oauth-toolkit left in databases migrated while it was installed.

The project stopped using the package (README "Architecture"): its five tables were never written (our
access tokens are signed JWTs, oauth.tokens), yet every deletion of clients read three of them and
deleted from a fourth (Django's cascade collector follows their foreign keys to oauth_client). Here
they go where they exist (IF EXISTS: a database made after the package left never had them), with the
package's rows in django_migrations and its content types and their permissions. oauth_client itself
does not change (oauth.models.Client keeps every column the package's model gave it).

Not reversible: going back to a tree with the package needs its own migrations run again.
"""

from django.db import migrations
from django.db.migrations.recorder import MigrationRecorder

DOT_TABLES = (
    "oauth2_provider_accesstoken",
    "oauth2_provider_refreshtoken",
    "oauth2_provider_idtoken",
    "oauth2_provider_grant",
    "oauth2_provider_devicegrant",
)
DOT_APP_LABEL = "oauth2_provider"


def dot_tables_drop(apps, schema_editor):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    # PostgreSQL: CASCADE takes the foreign keys between the five tables with them (they refer to each
    # other both ways). SQLite: the schema editor runs with foreign key checks off, so any order works.
    cascade = " CASCADE" if connection.vendor == "postgresql" else ""
    for table in DOT_TABLES:
        schema_editor.execute(f"DROP TABLE IF EXISTS {quote(table)}{cascade}")
    MigrationRecorder(connection).migration_qs.filter(app=DOT_APP_LABEL).delete()
    # The collector deletes the content types' permissions (and their grants to users and groups) and
    # clears admin log entries that pointed at them, as remove_stale_contenttypes would.
    content_type = apps.get_model("contenttypes", "ContentType")
    content_type.objects.using(connection.alias).filter(app_label=DOT_APP_LABEL).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("oauth", "0004_client_configuration_endpoint"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
    ]

    operations = [migrations.RunPython(dot_tables_drop, migrations.RunPython.noop, elidable=False)]
