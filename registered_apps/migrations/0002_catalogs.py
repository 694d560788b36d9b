"""Seed the platform and scope catalogs (README "Admin": TAMs add, retire and reactivate entries later)."""

from django.db import migrations

PLATFORMS = [
    ("ios", "iOS"),
    ("tvos", "tvOS"),
    ("android", "Android"),
    ("androidtv", "Android TV"),
    ("fireos", "Fire OS"),
    ("firetv", "Fire TV"),
    ("roku", "Roku"),
    ("web", "Web"),
    ("tizen", "Tizen"),
    ("webos", "webOS"),
    ("vizio", "Vizio"),
    ("xbox", "Xbox"),
    ("playstation", "PlayStation"),
    ("chromecast", "Chromecast"),
    ("server", "Server-to-server"),
]
SCOPES = [
    ("api:client:v2", "REST API v2"),
    ("api:client:v1", "Legacy REST API v1"),
    ("temporary:passes:owner", "Temp Pass reset"),
    ("decisions:owner", "Degradation"),
    ("analytics:client", "Entitlement service monitoring"),
    ("mvpd:proxy:owner", "Proxy MVPD"),
]


def seed(apps, schema_editor):
    Platform = apps.get_model("registered_apps", "Platform")
    Scope = apps.get_model("registered_apps", "Scope")
    for code, name in PLATFORMS:
        Platform.objects.get_or_create(code=code, defaults={"name": name})
    for code, name in SCOPES:
        Scope.objects.get_or_create(code=code, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("registered_apps", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
