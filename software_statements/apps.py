from django.apps import AppConfig


class SoftwareStatementsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "software_statements"
    verbose_name = "Software statements"
