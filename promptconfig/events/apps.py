from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "promptconfig.events"
    label = "events"
    verbose_name = "Events and webhooks"
