from abtests.views import ABTestViewSet
from promptconfig.common.routers import ApiRouter

router = ApiRouter()
router.register("ab-tests", ABTestViewSet, basename="ab-test")

urlpatterns = router.urls
