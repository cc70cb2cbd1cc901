"""Project-level views."""

from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@never_cache
@require_GET
def health_live(request):
    """Liveness: the web process is up and can answer a request (no database, no Redis).

    Container healthchecks and load balancers call it; deeper readiness checks belong
    elsewhere, so that a Redis outage never gets healthy web processes restarted.
    """
    return HttpResponse("ok", content_type="text/plain")
