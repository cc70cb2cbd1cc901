from django.apps import AppConfig


class EnrichmentConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "enrichment"
    verbose_name = "Enrichment"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
