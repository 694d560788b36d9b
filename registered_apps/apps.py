from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegisteredAppsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "registered_apps"
    verbose_name = _("Registry")
