from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from abtests import urls as abtests_urls
from generation import urls as generation_urls
from generation.admin import analytics_admin_page, playground_admin_page
from profiles import urls as profiles_urls
from promptconfig.common import health, views
from promptconfig.events import urls as events_urls
from promptconfig.workspaces import urls as workspaces_urls
from templates_app import urls as templates_urls
from versions import urls as versions_urls

# One flat list under /api/v1/ (every nested include costs each request a resolver level), with the
# runtime routes of generation first: they are the hot paths, and patterns are tried in order.
api_v1 = [
    *generation_urls.urlpatterns,
    *templates_urls.urlpatterns,
    *workspaces_urls.urlpatterns,
    *profiles_urls.urlpatterns,
    *abtests_urls.urlpatterns,
    *versions_urls.urlpatterns,
    *events_urls.urlpatterns,
]

admin.site.site_header = "PromptConfig"
admin.site.site_title = "PromptConfig"
admin.site.index_title = "Prompt templates, tests and runtime"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="home"),
    path("health", health.health, name="health"),
    path("metrics", views.metrics, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    # Anything else under /api/ is a JSON 404, also with DEBUG on (which bypasses handler404).
    re_path(r"^api/", views.api_not_found),
    path("admin/analytics/", analytics_admin_page, name="admin-analytics"),
    path("admin/playground/<int:template_id>/", playground_admin_page, name="admin-playground"),
    path("admin/", admin.site.urls),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.not_found
handler500 = views.server_error
