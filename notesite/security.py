"""Authentication hardening: the client's address, failed logins as structured events,
and a per-address limit on sign-ups.

Lockouts after repeated failed logins are django-axes' (settings: AXES_*); this module
gives it the client address and logs what it sees.
"""

import logging

import django_rq
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.utils.cache import patch_cache_control
from redis.exceptions import RedisError

logger = logging.getLogger("notesite.security")


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind the TLS proxy the address the proxy
    appended last to X-Forwarded-For (Caddy replaces what a client sends there)."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return request.META.get("REMOTE_ADDR") or None


@receiver(user_login_failed, dispatch_uid="notesite.security.login_failed")
def log_failed_login(sender, credentials, request=None, **kwargs):
    """One structured line per failed login: who was tried, from where; never the password."""
    username = str(credentials.get("username", ""))[:150]
    logger.warning(
        "Login failed for %r",
        username,
        extra={
            "event": "login_failed",
            "username": username,
            "ip": (client_ip(request) if request is not None else None) or "",
            "path": request.path if request is not None else "",
        },
    )


def signup_allowed(request) -> bool:
    """True while this address has made fewer than SIGNUP_PER_IP_PER_HOUR sign-ups in the
    current hour. Counted in Redis; when Redis is unreachable sign-up is refused."""
    key = f"notesite:signup:{client_ip(request) or 'unknown'}"
    try:
        conn = django_rq.get_connection(settings.ENRICHMENT_QUEUE)
        # SET NX then INCR rather than EXPIRE NX, which needs Redis 7: the embedded
        # development server is Redis 6.2.
        _, count = conn.pipeline().set(key, 0, ex=3600, nx=True).incr(key).execute()
    except (RedisError, OSError):
        logger.warning("Sign-up refused: Redis is unreachable", extra={"event": "signup_refused"})
        return False
    if count > settings.SIGNUP_PER_IP_PER_HOUR:
        logger.warning(
            "Sign-up limit reached",
            extra={"event": "signup_rate_limited", "ip": client_ip(request)},
        )
        return False
    return True


class PrivatePagesMiddleware:
    """Headers Django has no setting for: a Permissions-Policy on every response, and
    ``Cache-Control: private, no-store`` on every page that can show note content (the
    people's pages and the admin), so no shared cache or back-button snapshot keeps it."""

    PRIVATE_PREFIXES = ("/notes/", "/admin/", "/accounts/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        if request.path.startswith(self.PRIVATE_PREFIXES):
            patch_cache_control(response, private=True, no_store=True)
        return response
