"""Machine-facing monitoring endpoints: /health/, /health/live and /metrics.

Anonymous callers learn only statuses. Figures (counts, ages, latencies, problems) need a
staff session or ``Authorization: Bearer <HEALTH_TOKEN>``. Nothing here ever shows a
hostname, URL, password or exception text, even to trusted callers: error entries carry
only the exception's class name.
"""

import hmac

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from . import health, metrics


def _bearer_token(request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def has_monitoring_access(request) -> bool:
    """True for a valid bearer token (constant-time compare) or a staff session.

    The session is only consulted when the request carries a session cookie, so a
    probe without one never touches the database here, and a database error while
    reading the session counts as "not authorised" rather than failing the probe.
    """
    token = _bearer_token(request)
    if token and settings.HEALTH_TOKEN:
        return hmac.compare_digest(token.encode(), settings.HEALTH_TOKEN.encode())
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    try:
        return bool(request.user.is_active and request.user.is_staff)
    except DatabaseError:
        return False


@never_cache
@require_GET
def health_view(request):
    """Readiness: 200 when ok or degraded (Redis down included), 503 when the database is."""
    report = health.collect()
    body = report if has_monitoring_access(request) else health.public_report(report)
    return JsonResponse(body, status=503 if report["status"] == health.DOWN else 200)


@never_cache
@require_GET
def liveness_view(request):
    """Liveness: the process answers. Deliberately checks nothing else, so that a broken
    database or Redis does not make an orchestrator restart healthy web processes."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def metrics_view(request):
    """Prometheus text format; protected like the health figures."""
    if not has_monitoring_access(request):
        response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)
