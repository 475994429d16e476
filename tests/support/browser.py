"""Headless Chromium under Selenium, fully offline, and helpers for driving the Django admin.

Uses Debian's /usr/bin/chromium and /usr/bin/chromedriver. Both paths are given to Selenium, so
Selenium Manager never runs and nothing is downloaded.
"""

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import TypeVar
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

CHROMIUM_BINARY = "/usr/bin/chromium"
CHROMEDRIVER_BINARY = "/usr/bin/chromedriver"
IMPLICIT_WAIT = 0.5  # seconds; keep small, and wait explicitly with the helpers below
EXPLICIT_WAIT = 10.0  # seconds, the default for the wait_* helpers

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
]

T = TypeVar("T")


@contextlib.contextmanager
def chromium_driver(
    *, implicit_wait: float = IMPLICIT_WAIT, extra_flags: list[str] | None = None
) -> Iterator[WebDriver]:
    """Start headless Chromium with a fresh profile; yield its WebDriver; quit it and delete the profile."""
    previous_offline = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"  # belt and braces: Selenium Manager must never reach the network
    try:
        with tempfile.TemporaryDirectory(prefix="pc-chromium-") as profile_dir:
            options = webdriver.ChromeOptions()
            options.binary_location = CHROMIUM_BINARY
            for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", *(extra_flags or [])]:
                options.add_argument(flag)
            options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # console messages, for get_log
            driver = webdriver.Chrome(service=Service(CHROMEDRIVER_BINARY), options=options)
            try:
                driver.implicitly_wait(implicit_wait)
                driver.set_page_load_timeout(30)
                yield driver
            finally:
                driver.quit()
    finally:
        if previous_offline is None:
            os.environ.pop("SE_OFFLINE", None)
        else:
            os.environ["SE_OFFLINE"] = previous_offline


# --- Explicit waits ------------------------------------------------------------------------------


def wait_until(driver: WebDriver, condition: Callable[[WebDriver], T], timeout: float = EXPLICIT_WAIT) -> T:
    """Wait until `condition(driver)` is truthy and return its value."""
    return WebDriverWait(driver, timeout).until(condition)


def wait_for(driver: WebDriver, css: str, timeout: float = EXPLICIT_WAIT) -> WebElement:
    """The element matching this CSS selector, once it is visible."""
    return wait_until(driver, EC.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout)


def wait_for_clickable(driver: WebDriver, css: str, timeout: float = EXPLICIT_WAIT) -> WebElement:
    return wait_until(driver, EC.element_to_be_clickable((By.CSS_SELECTOR, css)), timeout)


def wait_for_path(driver: WebDriver, path: str, timeout: float = EXPLICIT_WAIT) -> None:
    """Wait until the browser's URL path (without query string) is `path`."""
    try:
        wait_until(driver, lambda d: urlsplit(d.current_url).path == path, timeout)
    except TimeoutException:
        raise AssertionError(f"expected to be on {path}, but the browser is on {driver.current_url}") from None


# --- Content Security Policy ----------------------------------------------------------------------

_CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(
    event.effectiveDirective + " blocked " + (event.blockedURI || "inline") + " at " +
    (event.sourceFile || event.documentURI) + ":" + event.lineNumber
  );
});
"""


def watch_csp_violations(driver: WebDriver) -> None:
    """From the next page on, record every Content-Security-Policy violation of every document, from its first
    byte (the listener is installed before any of the page's own content is parsed)."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _CSP_LISTENER})
    driver.get_log("browser")  # drop what the console said before


def csp_violations(driver: WebDriver) -> list[str]:
    """The violations the current document reported, and the console's CSP messages since the last call
    (Chromium logs each refusal as "Refused to ... because it violates the following Content Security Policy")."""
    reported = driver.execute_script("return window.__cspViolations || null;")
    if reported is None:
        raise AssertionError("no CSP listener in this document: call watch_csp_violations() before loading it")
    console = [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]
    return [*reported, *console]


# --- Django admin --------------------------------------------------------------------------------


def open_page(driver: WebDriver, live_server_url: str, path: str) -> None:
    """Load `path` on the live server and wait until the document has finished loading."""
    driver.get(live_server_url.rstrip("/") + path)
    wait_until(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def _gone(element: WebElement) -> bool:
    """True once the element left the document. Mid-navigation chromedriver sometimes says so with a
    generic "does not belong to the document" error instead of a stale-element one."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise
    return False


def submit(driver: WebDriver, css: str = "input[type=submit], button[type=submit]") -> None:
    """Click a submit control and wait for the next page to replace the current one."""
    button = wait_for_clickable(driver, css)
    old_html = driver.find_element(By.TAG_NAME, "html")
    button.click()
    wait_until(driver, lambda d: _gone(old_html))
    wait_until(driver, lambda d: d.execute_script("return document.readyState") == "complete")


def admin_login(driver: WebDriver, live_server_url: str, username: str, password: str) -> None:
    """Log into the Django admin through its login form; fail loudly if the login is refused."""
    open_page(driver, live_server_url, "/admin/login/?next=/admin/")
    wait_for(driver, "#id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(password)
    submit(driver, "#login-form [type=submit]")
    errors = driver.find_elements(By.CSS_SELECTOR, ".errornote")
    if errors:
        raise AssertionError(f"admin login as {username!r} failed: {errors[0].text}")
    wait_for_path(driver, "/admin/")


def select_by_text(driver: WebDriver, css: str, text: str) -> None:
    """Choose the option with this visible text in a <select>."""
    Select(wait_for(driver, css)).select_by_visible_text(text)


def select_by_value(driver: WebDriver, css: str, value: str) -> None:
    Select(wait_for(driver, css)).select_by_value(value)


def admin_messages(driver: WebDriver) -> list[str]:
    """The texts of the messages (success, warning, error) shown at the top of an admin page."""
    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, "ul.messagelist li")]


def admin_run_action(driver: WebDriver, action_label: str, row_labels: list[str]) -> None:
    """On a changelist page, tick the rows whose first column link reads one of `row_labels`, run an action."""
    for label in row_labels:
        row = wait_until(
            driver,
            EC.presence_of_element_located(
                (By.XPATH, f"//table[@id='result_list']//tr[.//th//a[normalize-space()={_xpath_literal(label)}]]")
            ),
        )
        checkbox = row.find_element(By.CSS_SELECTOR, "input.action-select")
        if not checkbox.is_selected():
            checkbox.click()
    select_by_text(driver, "select[name=action]", action_label)
    submit(driver, "button[name=index]")


def _xpath_literal(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in text.split("'")) + ")"
