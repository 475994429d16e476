import json
import logging

from promptconfig.common.logging import JsonFormatter, RequestIdFilter, request_id_var


def test_log_lines_are_json_with_the_request_id():
    record = logging.LogRecord("promptconfig.test", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    token = request_id_var.set("req-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello world"
    assert line["request_id"] == "req-42"
    assert line["level"] == "WARNING" and line["logger"] == "promptconfig.test"
