from django.apps import AppConfig


class RegisteredAppsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "registered_apps"
    verbose_name = "Registry"
