from django.urls import re_path

from promptconfig.common.routers import ApiRouter
from templates_app.bulk_views import BulkJobViewSet, BulkTemplatesView, ExportView, ImportView
from templates_app.refinement_views import RefinementViewSet
from templates_app.views import TemplateViewSet

router = ApiRouter()
router.register("templates", TemplateViewSet, basename="template")
router.register(r"templates/(?P<key>[a-z0-9][a-z0-9_-]{0,99})/refinements", RefinementViewSet, basename="refinement")
router.register("bulk/jobs", BulkJobViewSet, basename="bulk-job")

urlpatterns = [
    re_path(r"^bulk/templates/?$", BulkTemplatesView.as_view(), name="bulk-templates"),
    re_path(r"^export/?$", ExportView.as_view(), name="export"),
    re_path(r"^import/?$", ImportView.as_view(), name="import"),
    *router.urls,
]
