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
