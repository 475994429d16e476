from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from promptconfig.common import health, views
from templates_app.analytics_views import analytics_admin_page

api_v1 = [
    path("", include("promptconfig.workspaces.urls")),
    path("", include("templates_app.urls")),
    path("", include("profiles.urls")),
    path("", include("abtests.urls")),
    path("", include("templates_app.analytics_urls")),
]

urlpatterns = [
    path("health", health.health, name="health"),
    path("metrics", views.metrics, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Anything else under /api/ is a JSON 404, also with DEBUG on (which bypasses handler404).
    re_path(r"^api/", views.api_not_found),
    path("admin/analytics/", analytics_admin_page, name="admin-analytics"),
    path("admin/", admin.site.urls),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.not_found
handler500 = views.server_error
