from promptconfig.common.routers import ApiRouter
from templates_app.views import TemplateViewSet

router = ApiRouter()
router.register("templates", TemplateViewSet, basename="template")

urlpatterns = router.urls
