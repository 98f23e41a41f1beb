"""How `threaddesk serve` logs: text for a terminal or one JSON object a line, each with its request id.

Warnings and errors that repeat (the same logger, template and exception)
are written once per `REPEAT_WINDOW_S` with a count of the ones left out, so
a client that provokes the same error in a loop cannot fill the disk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

REPEAT_WINDOW_S = 10.0
_MAX_TRACKED = 1024


class RepeatFilter(logging.Filter):
    """Let the first of a run of like warnings/errors through, then one per window with a count."""

    def __init__(self, window_s: float = REPEAT_WINDOW_S) -> None:
        super().__init__()
        self.window_s = window_s
        self._runs: OrderedDict[tuple[Any, ...], list[float]] = OrderedDict()  # key -> [since, left out]
        self._lock = threading.Lock()

    @staticmethod
    def _key(record: logging.LogRecord) -> tuple[Any, ...]:
        exc = record.exc_info[1] if record.exc_info else None
        return (record.name, record.levelno, str(record.msg), type(exc), getattr(exc, "errno", None))

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = self._key(record)
        now = time.monotonic()
        with self._lock:
            run = self._runs.get(key)
            if run is not None and now - run[0] < self.window_s:
                run[1] += 1
                return False
            self._runs[key] = [now, 0]
            self._runs.move_to_end(key)
            while len(self._runs) > _MAX_TRACKED:
                self._runs.popitem(last=False)
        if run is not None and run[1]:
            record.msg = (
                f"{record.msg} [{int(run[1])} more like this in the last {now - run[0]:.0f}s not logged]"
            )
        return True


class JsonLogFormatter(JsonFormatter):
    """One JSON object a line; uvicorn's access lines get their fields (client, method, path, status)."""

    def add_fields(
        self, log_record: dict[str, Any], record: logging.LogRecord, message: dict[str, Any]
    ) -> None:
        super().add_fields(log_record, record, message)
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            log_record.update(client=client, method=method, path=path, http_version=version, status=status)


def log_config(log_format: Literal["text", "json"] = "text") -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn, threaddesk and asyncio (uvicorn's `log_config`)."""
    if log_format == "json":
        fields = "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s"
        renamed = {"asctime": "time", "levelname": "level", "name": "logger", "correlation_id": "request_id"}
        json_formatter = {"()": JsonLogFormatter, "fmt": fields, "rename_fields": renamed}
        formatters: dict[str, Any] = {"default": json_formatter, "access": json_formatter}
    else:
        formatters = {
            "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"},
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'
                " [%(correlation_id)s]",
            },
        }
    filters = ["request_id", "repeats"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "asgi_correlation_id.CorrelationIdFilter", "default_value": "-"},
            "repeats": {"()": RepeatFilter},
        },
        "formatters": formatters,
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": filters,
            },
            "access": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "access",
                "filters": filters,
            },
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
            "threaddesk": {"level": "INFO"},
        },
        # Everything else (threaddesk, asyncio's accept loop, libraries) through the same filters.
        "root": {"handlers": ["default"], "level": "WARNING"},
    }
