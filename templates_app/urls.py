from promptconfig.common.routers import ApiRouter
from templates_app.refinement_views import RefinementViewSet
from templates_app.views import TemplateViewSet

router = ApiRouter()
router.register("templates", TemplateViewSet, basename="template")
router.register(r"templates/(?P<key>[a-z0-9][a-z0-9_-]{0,99})/refinements", RefinementViewSet, basename="refinement")

urlpatterns = router.urls
