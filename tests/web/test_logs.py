"""Logs: repeated warnings cannot flood them, and JSON lines carry the response's request id."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from threaddesk.web.logs import RepeatFilter


def _logger(window_s: float) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RepeatFilter(window_s))
    logger = logging.getLogger(f"test.repeats.{window_s}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, out


def test_a_repeated_error_is_written_once_per_window_with_a_count() -> None:
    logger, out = _logger(0.3)
    error = OSError(24, "Too many open files")
    for _ in range(10_000):
        logger.error("socket.accept() out of system resource", exc_info=error)
    logger.error("another message")
    logger.info("info is never held back")
    logger.info("info is never held back")
    lines = [line for line in out.getvalue().splitlines() if not line.startswith(("Traceback", "OSError"))]
    assert lines == [
        "socket.accept() out of system resource",
        "another message",
        "info is never held back",
        "info is never held back",
    ]
    time.sleep(0.35)
    logger.error("socket.accept() out of system resource", exc_info=error)
    assert "socket.accept() out of system resource [9999 more like this in the last" in out.getvalue()
    assert len(out.getvalue()) < 2_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_json_logs_carry_the_request_id_of_the_response(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "THREADDESK_LOG_FORMAT": "json"}
    command = [sys.executable, "-m", "threaddesk.cli", "--db", str(tmp_path / "d.sqlite"), "serve"]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*command, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, log.read_text()
                time.sleep(0.1)
        chosen = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Request-Id": "probe-1"})
        made = httpx.get(f"http://127.0.0.1:{port}/threads")
        assert chosen.headers["x-request-id"] == "probe-1" and made.status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=30)
    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = {r["request_id"]: r for r in records if r["logger"] == "uvicorn.access"}
    assert access["probe-1"]["path"] == "/healthz" and access["probe-1"]["status"] == 200
    assert access[made.headers["x-request-id"]]["status"] == 401
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["message"].startswith("Application startup complete") for r in records)
