"""Settings, read from the environment.

No variables set is the embedded default: SQLite, the local-memory cache and Celery tasks run
eagerly in-process. Each production service is switched on by its URL variable.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from promptconfig.common.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DATABASE_URL = env_str("DATABASE_URL")
# The embedded default (no DATABASE_URL) is a local run: DEBUG on unless said otherwise.
DEBUG = env_bool("DEBUG", default=not DATABASE_URL)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    SECRET_KEY = "insecure-local-debug-key-never-used-with-debug-off"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "promptconfig.common.views.csrf_failure"
# Behind a TLS-terminating proxy (BEHIND_PROXY=1): trust its X-Forwarded-Proto, send cookies only over https
# and ask browsers to use https only (HSTS). Off, a local http run works as before.
BEHIND_PROXY = env_bool("BEHIND_PROXY")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
SESSION_COOKIE_SECURE = BEHIND_PROXY
CSRF_COOKIE_SECURE = BEHIND_PROXY
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600) if BEHIND_PROXY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "axes",
    "django_prometheus",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "promptconfig.workspaces",
    "promptconfig.events",
    "profiles",
    "templates_app",
    "abtests",
    "versions",
    "generation",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "promptconfig.common.middleware.ApiMiddleware",  # request ids; API size guard and no-store
    "django.middleware.security.SecurityMiddleware",
    # Plain calls of the hot API views (generate, prompt-data, profile reads...) leave here, the rest go on.
    "promptconfig.workspaces.fastpath.FastPathMiddleware",
    # The promptconfig.common ones are Django's and django-csp's middleware for pages outside /api/ only
    # (promptconfig/common/middleware.py): API calls authenticate with keys and skip them.
    "promptconfig.common.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "promptconfig.common.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "promptconfig.common.middleware.CsrfViewMiddleware",
    "promptconfig.common.middleware.AuthenticationMiddleware",
    "promptconfig.common.middleware.MessageMiddleware",
    "promptconfig.common.middleware.XFrameOptionsMiddleware",
    "promptconfig.common.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: turns a login refused for too many failures into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "promptconfig.urls"
WSGI_APPLICATION = "promptconfig.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 3)
    DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
        "django.db.backends.", "django_prometheus.db.backends."
    )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django_prometheus.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "var" / "db.sqlite3")),
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "pc"),
            "TIMEOUT": env_int("CACHE_DEFAULT_TIMEOUT", 300),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # A Redis outage degrades the service (cache misses) instead of failing requests.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": env_float("REDIS_CONNECT_TIMEOUT", 0.5),
                "SOCKET_TIMEOUT": env_float("REDIS_SOCKET_TIMEOUT", 0.5),
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    # django-redis' default, spelled out: every request's end asks for it, and a setting that is absent costs
    # each ask a failed lookup in Django's settings.
    DJANGO_REDIS_CLOSE_CONNECTION = False
    DJANGO_REDIS_LOGGER = "promptconfig.cache"
else:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.locmem.LocMemCache",
            "LOCATION": "promptconfig",
            "TIMEOUT": env_int("CACHE_DEFAULT_TIMEOUT", 300),
        }
    }

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Deployments sharing one Redis keep their tasks apart with their own queue name.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_BROKER_CONNECTION_TIMEOUT = env_float("CELERY_BROKER_CONNECTION_TIMEOUT", 2.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A message not acked within the visibility timeout is redelivered: keep it above the hard limit.
# A worker looks for such messages every CELERY_UNACKED_RESTORE_SECONDS.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_TASK_TIME_LIMIT * 2,
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_SECONDS", 10),
    "unacked_restore_throttle": 1,
}
CELERY_TIMEZONE = "UTC"
# A/B tests: how often beat re-analyses every running test, and the fewest users with the primary
# metric each variant needs before a winner may be declared.
ABTEST_ANALYSIS_SECONDS = env_int("ABTEST_ANALYSIS_SECONDS", 300)
ABTEST_MIN_SAMPLES = env_int("ABTEST_MIN_SAMPLES", 20)
# Bulk jobs: a task processes items for this long, then queues the rest (well under the task time limits).
BULK_JOB_SLICE_SECONDS = env_float("BULK_JOB_SLICE_SECONDS", 60.0)
# Provider model versions: the probe (stub by default, or real HTTP requests), its latency and time
# limit, the hour-bucket guard, and how often beat ensures the versions of every published template.
PROBE_MODE = env_str("PROBE_MODE", "stub")
if PROBE_MODE not in ("stub", "http"):
    raise ImproperlyConfigured("PROBE_MODE must be 'stub' or 'http'.")
PROBE_SLEEP_MS = env_int("PROBE_SLEEP_MS", 0)
PROBE_TIMEOUT_SECONDS = env_float("PROBE_TIMEOUT_SECONDS", 10.0)
PROBE_GUARD_SECONDS = env_int("PROBE_GUARD_SECONDS", 3600)
PROBE_SCHEDULE_SECONDS = env_int("PROBE_SCHEDULE_SECONDS", 3600)
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "https://api.openai.com")
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
AZURE_OPENAI_ENDPOINT = env_str("AZURE_OPENAI_ENDPOINT", "https://example.openai.azure.com")
AZURE_OPENAI_API_KEY = env_str("AZURE_OPENAI_API_KEY")
AZURE_OPENAI_API_VERSION = env_str("AZURE_OPENAI_API_VERSION", "2024-10-21")
ANTHROPIC_BASE_URL = env_str("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
ANTHROPIC_API_KEY = env_str("ANTHROPIC_API_KEY")
GEMINI_BASE_URL = env_str("GEMINI_BASE_URL", "https://generativelanguage.googleapis.com")
GEMINI_API_KEY = env_str("GEMINI_API_KEY")
# The authors' workbench (refinements, playground): any OpenAI-compatible chat-completions endpoint.
# LLM_BASE_URL is the API root that `/chat/completions` is appended to (e.g. https://api.openai.com/v1);
# without it the refinement endpoints answer 503 and the playground says what to set.
LLM_BASE_URL = env_str("LLM_BASE_URL")
LLM_API_KEY = env_str("LLM_API_KEY")
LLM_MODEL = env_str("LLM_MODEL", "gpt-4o-mini")
LLM_TIMEOUT = env_float("LLM_TIMEOUT", 60.0)
# The admin playground waits in the request (both sides at once): keep it under the HTTP server's timeout.
LLM_PLAYGROUND_TIMEOUT = env_float("LLM_PLAYGROUND_TIMEOUT", 20.0)
LLM_MAX_RESPONSE_BYTES = env_int("LLM_MAX_RESPONSE_BYTES", 1024 * 1024)
# Periodic jobs; the domain apps add their entries here.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "purge-old-generations": {"task": "generation.tasks.generations_purge_task", "schedule": 3600.0},
    "flush-generation-log": {"task": "generation.tasks.generations_flush_task", "schedule": 5.0},
    "ensure-provider-versions": {
        "task": "versions.tasks.ensure_versions_due_task",
        "schedule": float(PROBE_SCHEDULE_SECONDS),
    },
    "analyze-ab-tests": {"task": "abtests.tasks.ab_tests_analyze_due_task", "schedule": float(ABTEST_ANALYSIS_SECONDS)},
}

# --- Events and webhooks (promptconfig/events) ------------------------------------------------
# Events are kept EVENT_RETENTION_DAYS, delivery attempts WEBHOOK_DELIVERY_RETENTION_DAYS (pruned daily).
EVENT_RETENTION_DAYS = env_int("EVENT_RETENTION_DAYS", 365)
WEBHOOK_DELIVERY_RETENTION_DAYS = env_int("WEBHOOK_DELIVERY_RETENTION_DAYS", 30)
# Hosts a webhook may call although they resolve to a loopback, private or otherwise non-public address.
WEBHOOK_ALLOWED_HOSTS = env_list("WEBHOOK_ALLOWED_HOSTS", [])
# One attempt: at most this long (connect, send, answer) and this much of the answer read.
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
WEBHOOK_MAX_RESPONSE_BYTES = env_int("WEBHOOK_MAX_RESPONSE_BYTES", 64 * 1024)
WEBHOOK_EXCERPT_CHARS = env_int("WEBHOOK_EXCERPT_CHARS", 1000)
# Retries: attempt n+1 follows attempt n after BASE * 2^(n-1) seconds, +-JITTER (a fraction), up to MAX_ATTEMPTS
# attempts (defaults: 1 min, 2 min, 4 min ... about 8.5 h in all).
WEBHOOK_RETRY_BASE_SECONDS = env_float("WEBHOOK_RETRY_BASE_SECONDS", 60.0)
WEBHOOK_RETRY_JITTER = env_float("WEBHOOK_RETRY_JITTER", 0.2)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10)
# A webhook failing this many events in a row, or failing for this long, is disabled (webhook.disabled).
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 10)
WEBHOOK_DISABLE_AFTER_SECONDS = env_int("WEBHOOK_DISABLE_AFTER_SECONDS", 24 * 3600)
# After a rotation the previous secret keeps signing (beside the new one) this long.
WEBHOOK_SECRET_OVERLAP_SECONDS = env_int("WEBHOOK_SECRET_OVERLAP_SECONDS", 24 * 3600)
# The Celery queue of delivery tasks: a queue of their own keeps slow receivers from delaying other tasks (then
# run a worker with `-Q <it>`); by default the default queue.
WEBHOOK_QUEUE = env_str("WEBHOOK_QUEUE", CELERY_TASK_DEFAULT_QUEUE)
# How often beat looks for due attempts nobody holds (long backoffs, lost messages).
WEBHOOK_SWEEP_SECONDS = env_int("WEBHOOK_SWEEP_SECONDS", 30)
CELERY_BEAT_SCHEDULE["webhook-deliveries-sweep"] = {
    "task": "promptconfig.events.tasks.webhook_deliveries_sweep_task",
    "schedule": float(WEBHOOK_SWEEP_SECONDS),
}
CELERY_BEAT_SCHEDULE["prune-events"] = {"task": "promptconfig.events.tasks.events_prune_task", "schedule": 86400.0}

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["promptconfig.workspaces.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["promptconfig.workspaces.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["promptconfig.workspaces.throttling.ApiKeyThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["promptconfig.common.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "promptconfig.common.negotiation.ContentNegotiation",
    "DEFAULT_PARSER_CLASSES": ["promptconfig.common.parsers.SafeJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "promptconfig.common.pagination.PageNumberPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "promptconfig.common.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "promptconfig.common.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PromptConfig API",
    "DESCRIPTION": "Prompt templates, profiles, rendering, A/B tests and provider model versions.",
    "VERSION": "1",
    # OpenAPI 3.1 (JSON Schema 2020-12): `propertyNames` states the key rules of `attributes` and `metrics`.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies get their own components (without read-only fields, with the write-side constraints).
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TemplateStatusEnum": "templates_app.models.PromptTemplate.Status",
        "ForkStatusEnum": ["draft", "published"],
        "ABTestStatusEnum": "abtests.models.ABTest.Status",
        "ABTestCreateStatusEnum": ["draft", "active"],
        "BulkJobStatusEnum": "templates_app.models.BulkJob.Status",
        "BulkOperationEnum": "templates_app.models.BulkJob.Operation",
        "DocumentFormatEnum": ["promptconfig/v1"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "promptconfig.common.schema.strip_trailing_slashes",
        "promptconfig.common.schema.document_operations",
    ],
}
# Request bodies above this size are refused with 413 payload_too_large.
MAX_REQUEST_BYTES = env_int("MAX_REQUEST_BYTES", 1024 * 1024)
# POST /import takes at most this many versions in one document (each is compiled, checked and written within the
# request; about 8 ms each on a 2-core VM): above, 413 payload_too_large. `manage.py import_templates` has no limit.
IMPORT_MAX_VERSIONS = env_int("IMPORT_MAX_VERSIONS", 300)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BYTES
# JSON nested deeper than this is refused with 400 validation_error.
MAX_JSON_DEPTH = env_int("MAX_JSON_DEPTH", 32)
# Admin messages (which carry a new API key once) stay server-side, never in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# Template rendering limits (author templates are untrusted code).
RENDER_TIME_BUDGET_MS = env_int("RENDER_TIME_BUDGET_MS", 250)
RENDER_MAX_OUTPUT_BYTES = env_int("RENDER_MAX_OUTPUT_BYTES", 256 * 1024)
TEMPLATE_MAX_SOURCE_BYTES = env_int("TEMPLATE_MAX_SOURCE_BYTES", 64 * 1024)
# The whole of one batch request (generate/batch, prompt-data/batch); items reached after it answer template_error.
BATCH_TIME_BUDGET_MS = env_int("BATCH_TIME_BUDGET_MS", 2000)
# Runtime: how long a rendered prompt is reused, how long clients may keep prompt-data, how long
# generation records are kept (purged hourly by Celery beat).
PROMPT_CACHE_TTL = env_int("PROMPT_CACHE_TTL", 3600)
PROMPT_DATA_TTL = env_int("PROMPT_DATA_TTL", 300)
GENERATION_RETENTION_DAYS = env_int("GENERATION_RETENTION_DAYS", 30)
# Per-API-key rate limits, "<count>/<second|minute|hour|day>" (empty or 0: none), by class of call
# (promptconfig/common/ratelimit.py). A call that takes longer than RATE_LIMIT_SLOW_MS puts its key in a
# penalty box for RATE_LIMIT_SLOW_PENALTY times as long (every call of that key refused meanwhile), so that
# one key's slow renders cannot keep the workers from the others. Over a limit: 429 rate_limited, Retry-After.
RATE_LIMITS = {
    "runtime": env_str("RATE_LIMIT_RUNTIME", "12000/min"),
    "write": env_str("RATE_LIMIT_WRITE", "600/min"),
    "expensive": env_str("RATE_LIMIT_EXPENSIVE", "60/min"),
}
RATE_LIMIT_SLOW_MS = env_int("RATE_LIMIT_SLOW_MS", 200)
RATE_LIMIT_SLOW_PENALTY = env_int("RATE_LIMIT_SLOW_PENALTY", 10)
# Most metrics one feedback may carry (each becomes an A/B metric event when the prompt is in a test).
FEEDBACK_MAX_METRICS = env_int("FEEDBACK_MAX_METRICS", 20)
# Generation records go through a Redis queue, flushed to the database by Celery beat every 5 s, instead
# of a database write in each request. Needs Redis and a worker; on by default when both are configured.
GENERATION_LOG_QUEUE = env_bool("GENERATION_LOG_QUEUE", default=bool(REDIS_URL and CELERY_BROKER_URL))
# /health reports the queue's length, and says "degraded" above this many waiting records.
GENERATION_LOG_MAX_BACKLOG = env_int("GENERATION_LOG_MAX_BACKLOG", 10000)
# What /health reports beside its own checks: each a function returning a (name, body, degraded) triple or
# None; the apps above promptconfig contribute them here, so health itself imports none of them.
HEALTH_REPORTS = ["generation.log.health_report"]
# /health checks the broker at most once in this many seconds per process (and answers the last result between).
HEALTH_BROKER_CHECK_SECONDS = env_int("HEALTH_BROKER_CHECK_SECONDS", 5)
# Where the templates admin's "preview as user" gets a profile's prompt variables (promptconfig.common.variables):
# the generation app, which knows profiles and the derived defaults.
PROFILE_VARIABLES_SOURCE = "generation.playground.ProfileSource"
# Plain calls of the hot API views skip the site's other middleware and DRF's generic dispatch
# (promptconfig/workspaces/fastpath.py); off, every call takes the normal way (same answers, more CPU).
API_FAST_PATH = env_bool("API_FAST_PATH", default=True)
# Each process keeps up to LOCAL_CACHE_ENTRIES cache entries in memory (0: none), checked against a
# per-workspace epoch in Redis on every request and never older than LOCAL_CACHE_SECONDS
# (promptconfig/common/cache.py).
LOCAL_CACHE_ENTRIES = env_int("LOCAL_CACHE_ENTRIES", 2000)
LOCAL_CACHE_SECONDS = env_int("LOCAL_CACHE_SECONDS", 30)
# GET /metrics requires "Authorization: Bearer <METRICS_TOKEN>". Without a token it is served only when
# METRICS_PUBLIC is on (the default with DEBUG): the labels name templates and A/B tests of every workspace.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_PUBLIC = env_bool("METRICS_PUBLIC", default=DEBUG)
# The `service` and `env` labels of the probe metrics (and the alerts' grouping in Alertmanager).
METRICS_SERVICE = env_str("METRICS_SERVICE", "promptconfig")
METRICS_ENV = env_str("METRICS_ENV", "development" if DEBUG else "production")
# Before a scrape, /metrics refreshes the gauges these functions set (the apps above promptconfig add theirs).
METRICS_REFRESH = ["generation.log.refresh_backlog_gauge"]
# The GenerateLatencyHigh alert fires when the generate p95 stays above this many seconds (exported as
# promptconfig_generate_p95_target_seconds, which docker/alerts.yml compares with).
ALERT_GENERATE_P95_SECONDS = env_float("ALERT_GENERATE_P95_SECONDS", 0.25)
# A Celery worker exports its metrics on this port (0: not at all); beat schedules the heartbeat task every
# WORKER_HEARTBEAT_SECONDS, and beat touches BEAT_HEARTBEAT_FILE whenever it sends a task (empty: never).
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0)
# A worker (and the pool processes and embedded beat it starts) lowers its CPU priority by this much: on a host
# it shares with the web service, flushes and analyses yield the CPU to requests. 0 keeps the priority it got.
WORKER_NICENESS = env_int("WORKER_NICENESS", 10)
WORKER_HEARTBEAT_SECONDS = env_float("WORKER_HEARTBEAT_SECONDS", 30.0)
BEAT_HEARTBEAT_FILE = env_str("BEAT_HEARTBEAT_FILE", "")
BEAT_HEARTBEAT_MAX_AGE = env_int("BEAT_HEARTBEAT_MAX_AGE", 60)
CELERY_BEAT_SCHEDULE["worker-heartbeat"] = {"task": "promptconfig.heartbeat", "schedule": WORKER_HEARTBEAT_SECONDS}

# --- Content Security Policy (django-csp) ---------------------------------------------------
# The admin and every other page outside /api/ load nothing from elsewhere and run no inline script; inline
# style attributes stay allowed (the admin's SVG charts and badges use them). /api/ answers JSON, and its
# Swagger UI page (/api/docs/) needs an inline script, so it is left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Auth, i18n, static ---------------------------------------------------------------------
# Admin logins are throttled by django-axes: after AXES_FAILURE_LIMIT failures for one username from one
# address, that pair is refused (429) for AXES_COOLOFF_MINUTES (0: until `manage.py axes_reset`).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 15)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES) if AXES_COOLOFF_MINUTES > 0 else None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "promptconfig.common.login_throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "promptconfig.common.login_throttle.locked_out"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = env_str("STATIC_ROOT", str(BASE_DIR / "var" / "static"))
# Static files are served by whitenoise from STATIC_ROOT (collectstatic), or from the apps with DEBUG on.
WHITENOISE_USE_FINDERS = DEBUG

# --- Logging: one JSON object a line, with the request id -----------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "promptconfig.common.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "promptconfig.common.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        # 4xx responses are answers, not incidents; 5xx are still logged by our handler.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "httpx": {"level": "WARNING"},
    },
}
