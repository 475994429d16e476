import pytest

from promptconfig.events.models import Event, WebhookDelivery


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    """The local receivers run on 127.0.0.1; a short timeout and backoff keep the tests fast."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.5
    settings.WEBHOOK_RETRY_JITTER = 0.1


@pytest.fixture
def admin(api_client):
    return api_client


def types_since(mark: int, workspace=None) -> list[str]:
    events = Event.objects.filter(pk__gt=mark).order_by("id")
    if workspace is not None:
        events = events.filter(workspace=workspace)
    return list(events.values_list("type", flat=True))


def last_event_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def pending(webhook_id: int) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(webhook_id=webhook_id, state="pending").order_by("id"))
