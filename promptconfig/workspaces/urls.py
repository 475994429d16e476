from promptconfig.common.routers import ApiRouter
from promptconfig.workspaces.views import ApiKeyViewSet

router = ApiRouter()
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = router.urls
