"""`threaddesk serve` as a user runs it: a fresh data dir, the bootstrap admin token, a live API."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_prints_a_working_admin_token_once(tmp_path: Path) -> None:
    db = tmp_path / "fresh" / "desk.sqlite"
    port = _free_port()
    command = [sys.executable, "-m", "threaddesk.cli", "--db", str(db), "serve", "--port", str(port)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        printed = ""
        token = None
        deadline = time.monotonic() + 60
        while token is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            assert line, f"serve exited early: {printed}"
            printed += line
            if match := re.fullmatch(r"\s+(\S{40,})\s*", line):
                token = match.group(1)
        assert token and "created admin user 'admin'" in printed
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/threads", headers=auth).status_code == 200
        assert httpx.get(f"{base}/threads").status_code == 401
        created = httpx.post(f"{base}/threads", json={"thread_id": "alice_session"}, headers=auth)
        assert created.status_code == 200, created.text
        reply = httpx.post(
            f"{base}/threads/alice_session/messages", json={"content": "Hi, I'm Alice."}, headers=auth
        )
        assert reply.status_code == 200, reply.text
        assert "Alice" in reply.text
    finally:
        server.terminate()
        server.wait(timeout=30)

    # A second start on the same data dir has users already: no new token is printed.
    again = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        again.terminate()
        output, _ = again.communicate(timeout=30)
    assert "created admin user" not in output and token not in output
