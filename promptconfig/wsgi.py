import os

from django.conf import settings
from django.core.signals import request_started
from django.core.wsgi import get_wsgi_application
from django.db import reset_queries

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "promptconfig.settings")

from promptconfig.common import request_signals, tracing

tracing.configure()  # with OTEL_EXPORTER_OTLP_ENDPOINT set: instrument before the middleware is loaded
application = get_wsgi_application()
request_signals.install()  # Django's per-request connection upkeep, looked up once per thread

if not settings.DEBUG:
    # Django empties every database connection's query log at each request's start; that log is only written
    # with DEBUG on (and then holds at most 9,000 queries), so a production server skips the work.
    request_started.disconnect(reset_queries)
