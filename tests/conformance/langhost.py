"""LangGraph's server on PostgreSQL + Redis (`langhost serve`: stock `langgraph-api` on the MIT
`langgraph-runtime-pg`), the reference for background runs, whose queue the in-memory dev server
does not have. Same graph folder as `langgraph dev` (threaddesk's agent copied without threaddesk).

Opt-in: point `THREADDESK_LANGHOST` at the `langhost` executable of an environment that has it
(`pip install langhost langgraph-runtime-pg`); it needs the PostgreSQL server of
`THREADDESK_TEST_POSTGRES_URL` (a database of its own is created and dropped) and Redis at
`THREADDESK_LANGHOST_REDIS_URL` (default redis://127.0.0.1:6379/2). Without them its tests skip.
`.ci/run` does not install it: the install pulls a large, moving set of packages from the network.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from langgraph_dev import peer_env

# Read at import: the autouse settings fixture clears THREADDESK_* before each test runs.
LANGHOST_FROM_ENV = os.environ.get("THREADDESK_LANGHOST")
REDIS_URL = os.environ.get("THREADDESK_LANGHOST_REDIS_URL", "redis://127.0.0.1:6379/2")
POSTGRES_URL = os.environ.get("THREADDESK_TEST_POSTGRES_URL", "")


def find_langhost() -> tuple[Path | None, str]:
    """The `langhost` executable, or why there is none (then the reference tests skip)."""
    if not LANGHOST_FROM_ENV:
        return None, "THREADDESK_LANGHOST is not set (path to `langhost` of langhost + langgraph-runtime-pg)"
    path = Path(LANGHOST_FROM_ENV)
    if not path.is_file():
        return None, f"THREADDESK_LANGHOST={path} is not a file"
    if not POSTGRES_URL:
        return None, "langhost needs PostgreSQL: THREADDESK_TEST_POSTGRES_URL is not set"
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # not installed, or not answering
        return None, f"langhost needs Redis at {REDIS_URL}: {exc}"
    return path, ""


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new database on the test PostgreSQL server (langhost migrates its own schema into it)."""
    import psycopg

    name = f"td_langhost_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(POSTGRES_URL)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}", query=""))
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_langhost(cli: Path, folder: Path, log: Path, timeout: float = 120) -> Iterator[str]:
    """`langhost serve` on a free port over a fresh database until the block ends; its URL."""
    with fresh_database() as database, serve_langhost_on(cli, folder, log, database, timeout) as url:
        yield url


@contextmanager
def serve_langhost_on(
    cli: Path, folder: Path, log: Path, database: str, timeout: float = 120
) -> Iterator[str]:
    """`langhost serve` on a free port over `database` (another may serve it too: a replica); its URL."""
    port = _free_port()
    env = peer_env(folder)
    command = [
        str(cli), "serve", "-c", "langgraph.json", "--database-uri", database, "--redis-uri", REDIS_URL,
        "--n-jobs-per-worker", "10", "--no-browser", "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"langhost exited with {process.returncode}: see {log}")
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"langhost did not answer within {timeout}s: see {log}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
