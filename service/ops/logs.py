"""Structured logs: one JSON object per line, each line of a request carrying its request id, and one access line
per request.

The request id is the caller's X-Request-ID when well-formed (nginx's $request_id, a UUID: 8-128 letters, digits,
'-', '_', '.'), else a fresh one; the response echoes it, so a person's error report can be found in the logs.
A malformed one is never logged as given (it could forge lines or carry a payload).
"""
import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler

REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,127}")
ACCESS_FIELDS = ("method", "path", "endpoint", "status", "duration_ms", "remote_addr")
access_log = logging.getLogger("service.access")


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line: time, level, logger, message, request id and any access fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        if has_request_context() and "request_id" in g:
            line["request_id"] = g.request_id
        line.update((k, getattr(record, k)) for k in ACCESS_FIELDS if hasattr(record, k))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def request_id() -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def init_app(app: Flask) -> None:
    """Give every request an id and an access line; log JSON to stderr (except in tests, where pytest captures)."""
    if not app.testing and not any(isinstance(h.formatter, JsonFormatter) for h in app.logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        app.logger.removeHandler(default_handler)  # Flask's plain-text one
        app.logger.addHandler(handler)  # "service": every module's logger below it too
        app.logger.setLevel(app.config["LOG_LEVEL"])

    @app.before_request
    def take_request_id():
        g.request_id, g.log_started = request_id(), time.perf_counter()

    @app.after_request
    def log_request(response):
        if "request_id" not in g:
            return response
        response.headers["X-Request-ID"] = g.request_id
        access_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
            "method": request.method, "path": request.path, "status": response.status_code,
            "endpoint": request.url_rule.endpoint if request.url_rule else None,
            "duration_ms": round((time.perf_counter() - g.log_started) * 1000, 1), "remote_addr": request.remote_addr,
        })
        return response
