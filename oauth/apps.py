from django.apps import AppConfig


class OauthConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "oauth"
    verbose_name = "Clients and tokens"

    def ready(self) -> None:
        from .embedded import embedded_scheduler_connect

        embedded_scheduler_connect()
