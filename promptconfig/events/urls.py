from django.urls import re_path

from promptconfig.common.routers import ApiRouter
from promptconfig.events.views import EventListView, WebhookViewSet

router = ApiRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = [re_path(r"^events/?$", EventListView.as_view(), name="event-list"), *router.urls]
