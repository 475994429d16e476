"""Start several calls at the same instant, each in its own thread with its own database connection."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def all_at_once(count: int, call: Callable[[int], Any]) -> tuple[list[Any], list[Exception]]:
    """Run `call(index)` in `count` threads released together by a barrier; return what they returned and
    what they raised (each thread closes its database connection at the end)."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[Exception] = []

    def run(index: int) -> None:
        try:
            barrier.wait()
            results.append(call(index))
        except Exception as exc:  # reported to the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors
