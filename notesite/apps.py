from django.apps import AppConfig


class NotesiteConfig(AppConfig):
    """The project itself, as an app: connects the authentication event handlers."""

    name = "notesite"
    verbose_name = "notesite"

    def ready(self):
        from . import security  # noqa: F401  (connects the signal receivers)
