"""Two indexes of oauth_client that no query reads, updated on every registration's insert:

- client_secret's (and its `_like` twin), from django-oauth-toolkit's model: a client is found by its
  client_id, its stored hash compared after (the one query naming client_secret, the re-hash, also
  names the primary key);
- registered_application_id's own: the index (registered_application, created) starts with it.

The foreign key itself stays; only its index is dropped (a plain DROP INDEX, so the constraint is not
dropped and validated again over the whole table as AlterField would do)."""

import django.db.models.deletion
from django.db import migrations, models

FK_INDEX = "oauth_client_registered_application_id_c0b8ef0f"


class Migration(migrations.Migration):
    dependencies = [
        ("oauth", "0005_drop_django_oauth_toolkit_tables"),
        ("registered_apps", "0008_programmer_default_statement_lifetime"),
    ]

    operations = [
        migrations.AlterField(
            model_name="client",
            name="client_secret",
            field=models.CharField(
                blank=True, help_text="Client secret for authentication", max_length=255, verbose_name="client secret"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="client",
                    name="registered_application",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="clients",
                        to="registered_apps.registeredapplication",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{FK_INDEX}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{FK_INDEX}" ON "oauth_client" ("registered_application_id")',
                ),
            ],
        ),
    ]
