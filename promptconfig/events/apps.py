from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "promptconfig.events"
    label = "events"
    verbose_name = "Events and webhooks"

    def ready(self) -> None:
        # Register the delivery tasks in every process: services enqueue them by name (they cannot import
        # the tasks module, which imports them), and an unregistered name would bypass eager mode.
        from promptconfig.events import tasks  # noqa: F401
