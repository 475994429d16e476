"""The two-level cache: process-local copies served only while their scope's epoch holds."""

import contextlib
import time

import pytest
from django.core.cache import cache
from prometheus_client import REGISTRY

from promptconfig.common import cache as two_level
from promptconfig.common.cache import (
    LOCAL,
    MEMO,
    Tally,
    bump,
    forget,
    memoized,
    read_through,
    redis_call,
    redis_connection,
    request_epochs,
    scope_of,
)

pytestmark = pytest.mark.redis


@contextlib.contextmanager
def request():
    two_level._request_started()
    try:
        yield
    finally:
        two_level._request_finished()


@pytest.fixture(autouse=True)
def _empty_local():
    LOCAL.clear()
    MEMO.clear()
    yield
    LOCAL.clear()
    MEMO.clear()


def test_scopes():
    assert scope_of("templates:12:lesson") == "12"
    assert scope_of("prompts:7:abc") == "7"
    assert scope_of("apikey:0123abcd") == "apikey"


def test_inside_a_request_the_local_copy_is_served_without_the_shared_cache():
    loads = []
    with request():
        assert read_through("templates:1:k", lambda: loads.append(1) or "v1", timeout=60) == "v1"
    cache.set("templates:1:k", "changed behind our back", 60)  # no forget: the epoch stays
    with request():
        assert read_through("templates:1:k", lambda: "never", timeout=60) == "v1"
    assert loads == [1]


def test_outside_a_request_the_local_level_is_bypassed():
    with request():
        read_through("templates:1:k", lambda: "v1", timeout=60)
    cache.set("templates:1:k", "v2", 60)
    assert read_through("templates:1:k", lambda: "never", timeout=60) == "v2"


def test_forget_makes_every_local_copy_of_the_scope_stale(db):
    with request():
        read_through("templates:1:k", lambda: "v1", timeout=60)
        read_through("profiles:1:u", lambda: "p1", timeout=60)
        read_through("templates:2:k", lambda: "other workspace", timeout=60)
    forget("templates:1:k")  # as another process would, after a write
    cache.set("profiles:1:u", "p2", 60)
    cache.set("templates:2:k", "changed", 60)
    with request():
        assert read_through("templates:1:k", lambda: "v2", timeout=60) == "v2"
        assert read_through("profiles:1:u", lambda: "never", timeout=60) == "p2"  # same scope: re-read
        assert read_through("templates:2:k", lambda: "never", timeout=60) == "other workspace"  # untouched


def test_a_write_inside_a_request_bypasses_the_local_level_for_the_rest_of_it():
    with request():
        read_through("templates:1:k", lambda: "v1", timeout=60)
        cache.set("templates:1:k", "v2", 60)
        bump("templates:1:k")
        assert read_through("templates:1:k", lambda: "never", timeout=60) == "v2"


def test_one_round_trip_reads_the_epochs_of_a_request():
    with request():
        request_epochs("apikey", "1", "2")
        calls = []
        original = cache.get_many
        cache.get_many = lambda keys: calls.append(keys) or original(keys)
        try:
            request_epochs("1", "2")
            read_through("templates:1:k", lambda: "v", timeout=60)
        finally:
            cache.get_many = original
        assert calls == []


def test_local_copies_expire(settings):
    settings.LOCAL_CACHE_SECONDS = 0
    with request():
        read_through("templates:1:k", lambda: "v1", timeout=60)
    cache.set("templates:1:k", "v2", 60)
    time.sleep(0.01)
    with request():
        assert read_through("templates:1:k", lambda: "never", timeout=60) == "v2"


def test_the_local_level_keeps_at_most_its_size(settings):
    settings.LOCAL_CACHE_ENTRIES = 3
    with request():
        for i in range(5):
            read_through(f"templates:1:k{i}", lambda i=i: i, timeout=60)
    assert len(LOCAL._entries) == 3
    assert list(LOCAL._entries) == ["templates:1:k2", "templates:1:k3", "templates:1:k4"]


def test_a_lost_epoch_starts_a_new_one():
    with request():
        read_through("templates:1:k", lambda: "v1", timeout=60)
    cache.clear()  # Redis restarted: epochs and entries gone
    cache.set("templates:1:k", "v2", 60)
    with request():  # the epoch is unknown: bypass, and a fresh token is started
        assert read_through("templates:1:k", lambda: "never", timeout=60) == "v2"
    with request():
        assert read_through("templates:1:k", lambda: "never", timeout=60) == "v2"


def _made(calls: list, value, seconds: float = 60):
    """A memoized computation that reads one counted lookup and notes each run."""

    def compute():
        calls.append(value)
        read_through("templates:1:k", lambda: "v", timeout=60, cache_type="template")
        return value, seconds

    return compute


def _hits(workspace: str = "1") -> float:
    return REGISTRY.get_sample_value("cache_hits_total", {"cache_type": "template", "workspace": workspace}) or 0


def test_a_memoized_result_is_served_while_its_scope_holds_and_made_again_after_a_change(db):
    calls = []
    with request():
        assert memoized("answer:1:x", _made(calls, "first")) == ("first", False)
    with request():
        assert memoized("answer:1:x", _made(calls, "never")) == ("first", True)
        assert memoized("answer:2:x", _made(calls, "other workspace")) == ("other workspace", False)
    forget("profiles:1:u")  # another process changed something of workspace 1
    with request():
        assert memoized("answer:1:x", _made(calls, "second")) == ("second", False)
        assert memoized("answer:2:x", _made(calls, "never")) == ("other workspace", True)
    assert calls == ["first", "other workspace", "second"]


def test_a_served_memo_counts_its_lookups_as_cache_hits():
    with request():
        memoized("answer:1:x", _made([], "v"))
    before = _hits()
    with request():
        memoized("answer:1:x", _made([], "never"))
        memoized("answer:1:x", _made([], "never"))
    assert _hits() == before + 2


def test_a_memo_is_kept_for_the_seconds_its_result_holds(settings):
    calls = []
    with request():
        memoized("answer:1:x", _made(calls, "expired at once", seconds=0))
        memoized("answer:1:x", _made(calls, "short", seconds=0.05))
        assert memoized("answer:1:x", _made(calls, "never")) == ("short", True)
    time.sleep(0.06)
    settings.LOCAL_CACHE_SECONDS = 0  # and never longer than local entries
    with request():
        memoized("answer:1:x", _made(calls, "capped"))
    time.sleep(0.01)
    with request():
        memoized("answer:1:x", _made(calls, "again"))
    assert calls == ["expired at once", "short", "capped", "again"]


def test_no_memo_outside_a_request_after_a_write_in_it_or_with_the_local_level_off(settings):
    calls = []
    memoized("answer:1:x", _made(calls, "outside"))
    memoized("answer:1:x", _made(calls, "outside again"))
    with request():

        def writes():
            bump("templates:1:k")  # this request changed the scope while computing
            return "written", 60

        memoized("answer:1:x", writes)
        memoized("answer:1:x", _made(calls, "after the write"))
    settings.LOCAL_CACHE_ENTRIES = 0
    with request():
        memoized("answer:1:x", _made(calls, "off"))
    with request():
        memoized("answer:1:x", _made(calls, "still off"))
    assert calls == ["outside", "outside again", "after the write", "off", "still off"]


def test_the_rate_count_survives_a_flushed_script_and_a_closed_connection():
    """The epochs and the count go through a connection of our own (redis_call) with a script: both may be lost
    on the Redis side at any time."""
    tally = Tally(counter="ratetest:hot", seconds=60, peek="ratetest:peek")
    cache.delete("ratetest:hot")
    counts = []
    with request():
        counts.append(request_epochs("apikey", tally=tally)[0])
    redis_connection().script_flush()  # as after a Redis restart
    with request():
        counts.append(request_epochs("apikey", tally=tally)[0])
    ours = redis_call(redis_connection(), "CLIENT", "ID")
    redis_connection().client_kill_filter(_id=ours)  # as after an idle timeout
    with request():
        counts.append(request_epochs("apikey", tally=tally)[0])
    assert counts == [1, 2, 3]
    assert 0 < redis_connection().ttl(cache.make_key("ratetest:hot")) <= 60
