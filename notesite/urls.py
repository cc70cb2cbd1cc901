from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "notesite administration"
admin.site.site_title = "notesite admin"

urlpatterns = [
    # The django-rq dashboard is registered inside the admin (staff only) at
    # /admin/django_rq/dashboard/ by django_rq's own ModelAdmin.
    path("admin/", admin.site.urls),
    # People's pages.
    path("", RedirectView.as_view(pattern_name="notes:list"), name="home"),
    path("accounts/", include("notes.account_urls")),
    path("notes/", include("notes.urls")),
]
