from profiles.views import ProfileViewSet
from promptconfig.common.routers import ApiRouter

router = ApiRouter()
router.register("profiles", ProfileViewSet, basename="profile")

urlpatterns = router.urls
