"""Pytest fixtures shared across test packages; loaded by `pytest_plugins` in tests/conftest.py."""

from collections.abc import Iterator

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from tests.support.browser import chromium_driver


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """A headless Chromium WebDriver with a fresh profile, quit after the test.

    Mark the test `@pytest.mark.browser` so it is skipped where chromium/chromedriver are missing;
    pair it with pytest-django's `live_server` to drive the real app.
    """
    with chromium_driver() as driver:
        yield driver


@pytest.fixture
def broker() -> str:
    """The Celery broker URL of this run, for tests that start a real worker."""
    import os

    from django.conf import settings

    if not settings.CELERY_BROKER_URL:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1 but CELERY_BROKER_URL is not set", pytrace=False)
        pytest.skip("CELERY_BROKER_URL is not set")
    return settings.CELERY_BROKER_URL
