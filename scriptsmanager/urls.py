from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from catalog import views as catalog_views
from scriptsmanager import views
from scriptsmanager.api import api

urlpatterns = [
    path("", catalog_views.dashboard, name="home"),
    path("", include("catalog.urls")),
    path("", include("execution.urls")),
    path("", include("logs.urls")),
    path("", include("projects.urls")),
    path("health", views.health, name="health"),
    path("branding/logo", views.branding_logo, name="branding_logo"),
    path(
        "jsi18n/",
        login_not_required(JavaScriptCatalog.as_view(domain="djangojs")),
        name="javascript-catalog",
    ),
    path("accounts/", include("accounts.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]

handler403 = "scriptsmanager.views.permission_denied"
handler404 = "scriptsmanager.views.page_not_found"
handler500 = "scriptsmanager.views.server_error"
