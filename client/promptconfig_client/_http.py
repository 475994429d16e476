"""The httpx side of both clients: one HTTP attempt in, a Reply or Failure out, logged at DEBUG."""

import json
import logging
import time

import httpx

from . import __version__
from ._core import Failure, Options, Reply, Request

logger = logging.getLogger("promptconfig_client")


def client_options(options: Options, transport) -> dict:
    return {
        "base_url": options.base_url,
        "headers": {
            "Authorization": f"Bearer {options.api_key}",
            "Accept": "application/json",
            "User-Agent": f"promptconfig-client/{__version__}",
        },
        "timeout": options.timeout,
        "transport": transport,
    }


def request_options(request: Request, timeout: float) -> dict:
    return {
        "method": request.method,
        "url": request.path,
        "json": request.json,
        "headers": dict(request.headers),
        "timeout": timeout,
    }


def outcome(request: Request, started: float, response: httpx.Response | None, error: Exception | None):
    """The Reply of a response (its JSON body, or None), or the Failure of an exception; logged either way."""
    elapsed = (time.perf_counter() - started) * 1000
    if response is None:
        logger.debug("%s %s -> %s in %.1f ms", request.method, request.path, type(error).__name__, elapsed)
        return Failure(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)
    logger.debug("%s %s -> %s in %.1f ms", request.method, request.path, response.status_code, elapsed)
    body = None
    if response.content:
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
    return Reply(status=response.status_code, headers={k.lower(): v for k, v in response.headers.items()}, body=body)
