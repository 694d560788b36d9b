from django.db import migrations, models
from django.utils import timezone


def dismiss_duplicate_pending_requests(apps, schema_editor):
    """Keep the first pending request of each application; dismiss the later duplicates (they asked the same
    thing of the same TAMs), so that the constraint below can be created."""
    RevocationRequest = apps.get_model("registered_apps", "RevocationRequest")
    seen = set()
    duplicates = []
    for pk, application_id in (
        RevocationRequest.objects.filter(state="pending")
        .order_by("requested_at", "pk")
        .values_list("pk", "application_id")
    ):
        if application_id in seen:
            duplicates.append(pk)
        seen.add(application_id)
    if duplicates:
        RevocationRequest.objects.filter(pk__in=duplicates).update(state="dismissed", decided_at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [
        ("registered_apps", "0005_channel_settings_plural"),
    ]

    operations = [
        migrations.RunPython(dismiss_duplicate_pending_requests, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="revocationrequest",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state", "pending")),
                fields=("application",),
                name="one_pending_revocation_request_per_application",
            ),
        ),
    ]
