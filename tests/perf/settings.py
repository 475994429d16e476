"""Settings for the load benchmark: the project's, plus the benchmark-only routes of tests/perf/urls.py."""

from promptconfig.settings import *  # noqa: F403

ROOT_URLCONF = "tests.perf.urls"
