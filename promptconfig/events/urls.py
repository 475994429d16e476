from promptconfig.common.routers import ApiRouter
from promptconfig.events.views import EventViewSet, WebhookViewSet

router = ApiRouter()
router.register("events", EventViewSet, basename="event")
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = router.urls
