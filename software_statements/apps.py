from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SoftwareStatementsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "software_statements"
    verbose_name = _("Software statements")
