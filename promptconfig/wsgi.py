import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "promptconfig.settings")

from promptconfig.common import tracing

tracing.configure()  # with OTEL_EXPORTER_OTLP_ENDPOINT set: instrument before the middleware is loaded
application = get_wsgi_application()
