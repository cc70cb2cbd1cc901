from django.conf import settings


def ui(request):
    """Settings the base layout and the login page need."""
    return {
        "allow_signup": settings.ALLOW_SIGNUP,
        "poll_ms": settings.NOTE_STATUS_POLL_MS,
    }
