"""The server's per-request connection upkeep (promptconfig.common.request_signals): Django's own work at each
request's start and end, on connection handles each thread looks up once."""

import threading
import time

import pytest
from django.core.cache import close_caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, connections, reset_queries
from django.test import override_settings

from promptconfig.common import request_signals

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit on: the upkeep would close a test's transaction


class ClosingCache(LocMemCache):
    closed = 0

    def close(self, **kwargs):
        type(self).closed += 1


@pytest.fixture(autouse=True)
def installed():
    request_signals.install()
    yield
    for signal in (request_started, request_finished):
        if signal.disconnect(request_signals._close_old_connections):
            signal.connect(close_old_connections)
    if request_finished.disconnect(request_signals._close_caches):
        request_finished.connect(close_caches)
    request_started.connect(reset_queries)  # once only, however often it is connected


def test_djangos_receivers_are_replaced():
    for signal in (request_started, request_finished):
        assert not signal.disconnect(close_old_connections)
        assert signal.disconnect(request_signals._close_old_connections)
        signal.connect(request_signals._close_old_connections)
    assert not request_finished.disconnect(close_caches)


def test_a_connection_past_its_max_age_is_closed_at_a_requests_start():
    connection.ensure_connection()
    request_started.send(sender=None)
    assert connection.connection is not None  # fresh: kept
    connection.close_at = time.monotonic() - 1
    request_started.send(sender=None)
    assert connection.connection is None


def test_a_connection_left_outside_autocommit_is_closed_at_a_requests_end():
    connection.ensure_connection()
    connection.set_autocommit(False)
    request_finished.send(sender=None)
    assert connection.connection is None
    assert connection.get_autocommit()  # a new connection, as configured


def test_each_thread_keeps_up_its_own_connections():
    connection.ensure_connection()
    closed_there = []

    def request_in_another_thread():
        there = connections["default"]
        there.ensure_connection()
        there.close_at = time.monotonic() - 1
        request_started.send(sender=None)
        closed_there.append(there.connection is None)
        there.close()

    request_started.send(sender=None)  # this thread's handles are kept first
    worker = threading.Thread(target=request_in_another_thread)
    worker.start()
    worker.join()
    assert closed_there == [True]
    assert connection.connection is not None


def test_caches_are_closed_at_a_requests_end_also_after_the_cache_setting_changed():
    request_finished.send(sender=None)  # the handles of the configured caches are kept
    ClosingCache.closed = 0
    with override_settings(CACHES={"default": {"BACKEND": f"{__name__}.ClosingCache"}}):
        request_finished.send(sender=None)
        request_finished.send(sender=None)
        assert ClosingCache.closed == 2
