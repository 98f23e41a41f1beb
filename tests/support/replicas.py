"""Several threaddesk server processes on one PostgreSQL database, for scale-out tests and benches."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from threaddesk.storage import open_storage
from threaddesk.users import UserManager

SLOW_REPLICA = Path(__file__).with_name("slow_replica.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def add_user(database_url: str, name: str) -> str:
    """Create `name` in the database's user store; return its token."""

    async def run() -> str:
        storage = await open_storage(database_url, pool_size=1, turn_pool_size=1)
        try:
            return (await UserManager(storage.users).add(name))[1]
        finally:
            await storage.aclose()

    return asyncio.run(run())


@dataclass
class Replica:
    process: subprocess.Popen
    url: str


def serve_command(database_url: str, port: int) -> list[str]:
    """`threaddesk serve` as an operator runs it."""
    return [sys.executable, "-m", "threaddesk.cli", "--db", database_url, "serve", "--port", str(port)]


def slow_command(database_url: str, port: int, delay: float) -> list[str]:
    return [sys.executable, str(SLOW_REPLICA), database_url, str(port), str(delay)]


def wait_healthy(replicas: Sequence[Replica], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for replica in replicas:
        while True:
            assert replica.process.poll() is None, f"replica {replica.url} exited early"
            try:
                if httpx.get(f"{replica.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"replica {replica.url} did not come up"
            time.sleep(0.1)


@contextmanager
def running(
    commands: Sequence[tuple[list[str], int]], env: dict[str, str] | None = None
) -> Iterator[list[Replica]]:
    """Start one process per (command, port), wait until all answer /healthz, stop them after."""
    environment = {**os.environ, **(env or {})}
    replicas = []
    try:
        for command, port in commands:
            process = subprocess.Popen(
                command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            replicas.append(Replica(process, f"http://127.0.0.1:{port}"))
        wait_healthy(replicas)
        yield replicas
    finally:
        for replica in replicas:
            if replica.process.poll() is None:
                replica.process.terminate()
        for replica in replicas:
            try:
                replica.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()
