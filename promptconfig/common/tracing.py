"""OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.

On, every process (web from wsgi.py, worker and beat from promptconfig/celery.py) sends its spans over OTLP/HTTP
(the standard OTEL_* variables configure the exporter: endpoint, headers, OTEL_SERVICE_NAME...), with Django,
Celery, psycopg, redis and httpx instrumented: a trace runs from an API call through the task it enqueues
(the task's message carries the trace context). Log lines and generation records carry the trace id.

Off, nothing is instrumented and `trace_id()` is a function returning "": no work is added per request.
"""

import os
import threading

from opentelemetry import trace

_lock = threading.Lock()
_configured = False


def _no_trace_id() -> str:
    return ""


def _current_trace_id() -> str:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""


# The trace id of the current span ("" with tracing off, or outside any span); swapped in by configure().
trace_id = _no_trace_id


def active() -> bool:
    """Whether this process traces (configure() has switched tracing on)."""
    return _configured


def enabled() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


def configure(exporter=None) -> bool:
    """Set up tracing once per process. Returns whether tracing is on. `exporter` (a SpanExporter) replaces
    the OTLP exporter and switches tracing on regardless of the environment: tests pass an in-memory one."""
    global _configured, trace_id
    if exporter is None and not enabled():
        return False
    with _lock:
        if _configured:
            return True
        from django.conf import settings
        from opentelemetry.instrumentation.celery import CeleryInstrumentor
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        name = os.environ.get("OTEL_SERVICE_NAME") or settings.METRICS_SERVICE
        provider = TracerProvider(
            resource=Resource.create({"service.name": name, "deployment.environment": settings.METRICS_ENV})
        )
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        DjangoInstrumentor().instrument(tracer_provider=provider, excluded_urls="health,metrics")
        CeleryInstrumentor().instrument(tracer_provider=provider)
        PsycopgInstrumentor().instrument(tracer_provider=provider, enable_commenter=False)
        RedisInstrumentor().instrument(tracer_provider=provider)
        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
        trace_id = _current_trace_id
        _configured = True
        return True


def unconfigure() -> None:
    """Undo configure()'s instrumentation (tests): spans stop, trace_id() answers "" again."""
    global _configured, trace_id
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    with _lock:
        for instrumentor in (
            DjangoInstrumentor,
            CeleryInstrumentor,
            PsycopgInstrumentor,
            RedisInstrumentor,
            HTTPXClientInstrumentor,
        ):
            instrumentor().uninstrument()
        trace_id = _no_trace_id
        _configured = False
