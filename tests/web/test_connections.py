"""Hostile connections against a real `threaddesk serve` whose open-file limit is lowered to 256.

Idle and slow clients beyond the limit must not lock legitimate ones out
(served, or refused fast with 503), the log must stay small however many
accepts fail, and requests whose framing a proxy could read differently
(request smuggling) get 400.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

OPEN_FILE_LIMIT = 256
HEADER_TIMEOUT_S = 2.0
IDLE_SOCKETS = 600  # well past the server's open-file limit


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lower_open_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILE_LIMIT, OPEN_FILE_LIMIT))


@dataclass
class Server:
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def _serve(tmp: Path, **settings: str) -> Iterator[Server]:
    """`threaddesk serve` in a subprocess with `RLIMIT_NOFILE` at 256 and `THREADDESK_*` settings."""
    port = _free_port()
    log = tmp / "serve.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.update({f"THREADDESK_{name.upper()}": value for name, value in settings.items()})
    command = [sys.executable, "-m", "threaddesk.cli", "--db", str(tmp / "desk.sqlite"), "serve"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_lower_open_file_limit,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        yield Server(port, log)
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    timeouts = {"header_timeout_s": str(HEADER_TIMEOUT_S), "body_timeout_s": str(HEADER_TIMEOUT_S)}
    with _serve(tmp_path_factory.mktemp("connections"), **timeouts) as server:
        yield server


def _raw(server: Server, request: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request)
        return sock.recv(4096)


def _idle_sockets(server: Server, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        try:
            sock.connect(("127.0.0.1", server.port))
        except BlockingIOError:
            pass
        sockets.append(sock)
    return sockets


def test_idle_and_slow_clients_past_the_open_file_limit_do_not_lock_others_out(server: Server) -> None:
    log_before = server.log.stat().st_size
    idle = _idle_sockets(server, IDLE_SOCKETS)
    slow = _idle_sockets(server, 20)
    try:
        time.sleep(1.0)
        for sock in slow:  # a request head that never ends
            try:
                sock.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            except OSError:
                pass  # already closed by the server to make room: as good
        latencies = []
        statuses = []
        for _ in range(10):
            started = time.monotonic()
            response = httpx.get(f"{server.url}/healthz", timeout=10)
            latencies.append(time.monotonic() - started)
            statuses.append(response.status_code)
        assert set(statuses) <= {200, 503} and statuses.count(200) >= 8, statuses
        assert max(latencies) < 5, latencies
        p50, worst = sorted(latencies)[5] * 1000, max(latencies) * 1000
        print(
            f"\n{IDLE_SOCKETS} idle + 20 slow sockets, open-file limit {OPEN_FILE_LIMIT}:"
            f" legitimate /healthz p50 {p50:.1f} ms, max {worst:.1f} ms"
        )
    finally:
        for sock in idle + slow:
            sock.close()
    grown = server.log.stat().st_size - log_before
    print(f"log grew by {grown} bytes")
    assert grown < 20_000, server.log.read_text()[-2000:]


def test_a_silent_or_trickling_client_is_closed_after_the_header_timeout(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as silent:
        started = time.monotonic()
        assert silent.recv(1) == b""  # closed by the server
        assert HEADER_TIMEOUT_S - 0.5 < time.monotonic() - started < HEADER_TIMEOUT_S + 5
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as trickling:
        started = time.monotonic()
        closed = False
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                trickling.send(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.2)
            if time.monotonic() - started > HEADER_TIMEOUT_S + 5:
                break
        if not closed:
            trickling.settimeout(5)
            assert trickling.recv(1) == b""
        assert time.monotonic() - started < HEADER_TIMEOUT_S + 5


def test_a_body_that_trickles_is_closed_after_the_body_timeout(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
        slow.sendall(b"POST /threads HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        started = time.monotonic()
        try:
            while slow.recv(4096):  # whatever the app answers to a cut-off body, then the close
                pass
        except ConnectionResetError:
            pass
        assert HEADER_TIMEOUT_S - 0.5 < time.monotonic() - started < HEADER_TIMEOUT_S + 5


def test_a_kept_alive_connection_still_serves_its_next_request(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/healthz").status_code == 200
        time.sleep(HEADER_TIMEOUT_S + 0.5)  # idle keep-alive is not a slow request head
        assert client.get("/healthz").status_code == 200


AMBIGUOUS = {
    "Content-Length and Transfer-Encoding": (
        b"POST /threads HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n"
    ),
    "Content-Length twice": (
        b"POST /threads HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}"
    ),
    "Content-Length list": b"POST /threads HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\n{}",
    "Transfer-Encoding in HTTP/1.0": (
        b"POST /threads HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "folded Transfer-Encoding": (
        b"POST /threads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"
    ),
    "smuggled second request": (
        b"POST /threads HTTP/1.1\r\nHost: x\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\nGET /admin/cleanup HTTP/1.1\r\nHost: x\r\n\r\n"
    ),
}


@pytest.mark.parametrize("request_bytes", AMBIGUOUS.values(), ids=AMBIGUOUS.keys())
def test_ambiguous_framing_is_refused_with_400(server: Server, request_bytes: bytes) -> None:
    answer = _raw(server, request_bytes)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert answer.count(b"HTTP/1.1") == 1


def test_plain_chunked_and_sized_requests_still_pass(server: Server) -> None:
    chunked = b"POST /threads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    sized = b"POST /threads HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
    assert _raw(server, chunked).startswith(b"HTTP/1.1 401 ")  # framed fine, then asked for a token
    assert _raw(server, sized).startswith(b"HTTP/1.1 401 ")
    pipelined = sized + AMBIGUOUS["Content-Length twice"]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(pipelined)
        answers = b""
        while answers.count(b"HTTP/1.1 ") < 2:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answers += chunk
    assert answers.startswith(b"HTTP/1.1 401 ") and b"HTTP/1.1 400 " in answers, answers


def test_with_every_connection_busy_a_new_one_is_refused_at_once_with_503(tmp_path: Path) -> None:
    with _serve(tmp_path, max_connections="3") as server:
        busy = []
        for _ in range(3):  # requests whose bodies never come: in progress, not idle
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"POST /threads HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
            busy.append(sock)
        try:
            time.sleep(0.5)
            started = time.monotonic()
            answer = _raw(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 503 "), answer
            assert time.monotonic() - started < 2
        finally:
            for sock in busy:
                sock.close()
        time.sleep(0.5)
        assert httpx.get(f"{server.url}/healthz").status_code == 200  # room again
        assert b"connection limit (3) reached" in server.log.read_bytes()
