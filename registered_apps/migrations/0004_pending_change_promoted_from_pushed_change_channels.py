import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registered_apps", "0003_environments"),
    ]

    operations = [
        migrations.AddField(
            model_name="pendingchange",
            name="promoted_from",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="registered_apps.push",
            ),
        ),
        migrations.AddField(
            model_name="pushedchange",
            name="all_channels",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="pushedchange",
            name="channels",
            field=models.ManyToManyField(blank=True, related_name="+", to="registered_apps.channel"),
        ),
    ]
