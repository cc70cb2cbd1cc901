from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from enrichment import views as monitoring
from enrichment.admin_views import OverviewView
from enrichment.permissions import operate_required

admin.site.site_header = "notesite administration"
admin.site.site_title = "notesite admin"

urlpatterns = [
    # Monitoring: probes and Prometheus (see docs/operations.md).
    path("health/", monitoring.health_view, name="health"),
    path("health/live", monitoring.liveness_view, name="health-live"),
    path("metrics", monitoring.metrics_view, name="metrics"),
    # Staff with enrichment.operate only: admin_view() checks the session and redirects
    # to the admin login, operate_required() answers 403 to other staff.
    path(
        "admin/enrichment/overview/",
        admin.site.admin_view(operate_required(OverviewView.as_view())),
        name="enrichment-overview",
    ),
    # The django-rq dashboard lives inside the admin at /admin/django_rq/dashboard/,
    # behind enrichment.operate (enrichment.admin.OperatorsDashboardAdmin).
    path("admin/", admin.site.urls),
    # People's pages.
    path("", RedirectView.as_view(pattern_name="notes:list"), name="home"),
    path("accounts/", include("notes.account_urls")),
    path("notes/", include("notes.urls")),
]
