from django.contrib import admin
from django.urls import path

from notesite import views

admin.site.site_header = "notesite administration"
admin.site.site_title = "notesite admin"

urlpatterns = [
    # The django-rq dashboard is registered inside the admin (staff only) at
    # /admin/django_rq/dashboard/ by django_rq's own ModelAdmin.
    path("admin/", admin.site.urls),
    # Liveness probe for the container healthcheck (docker-compose.yml, notesite.healthcheck).
    path("health/live", views.health_live, name="health-live"),
]
