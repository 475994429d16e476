"""What gunicorn refuses itself (no view runs) is answered in the API's error shape, not as an HTML page."""

import json
import socket

import pytest
from django.conf import settings

from tests.support.servers import database_url_for_tests, gunicorn_process


def raw(port: int, request: bytes) -> tuple[str, dict, dict]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return status_line, headers, json.loads(body)


@pytest.mark.postgres
@pytest.mark.redis
def test_gunicorns_own_refusals_are_json(transactional_db, tmp_path):
    env = {"DATABASE_URL": database_url_for_tests(), "REDIS_URL": settings.REDIS_URL}
    with gunicorn_process(env, workers=1, log_path=tmp_path / "gunicorn.log") as served:
        cases = [
            (b"GET /api/v1/templates?q=" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "414", "uri_too_long"),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", "431", "headers_too_large"),
            (b"NOT A REQUEST LINE\r\n\r\n", "400", "validation_error"),
        ]
        for request, status, code in cases:
            status_line, headers, body = raw(served.port, request)
            assert status_line.split()[1] == status, status_line
            assert headers["Content-Type"] == "application/json"
            assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["details"] == {}
