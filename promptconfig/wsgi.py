import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "promptconfig.settings")

from promptconfig.common import request_signals, tracing

tracing.configure()  # with OTEL_EXPORTER_OTLP_ENDPOINT set: instrument before the middleware is loaded
application = get_wsgi_application()
request_signals.install()  # the server's per-request upkeep: only what it needs, looked up once per thread
