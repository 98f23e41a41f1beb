"""Soak: does `threaddesk serve` keep a flat resident set under steady load? (target: last/first < 1.10)

Starts a real `threaddesk serve` process, drives it with steady traffic for
N minutes (concurrent clients, each turn on one of a fixed number of live
threads; a thread that reaches --turns-per-thread turns is deleted and a new
one takes its place, so the work per turn stays level), and samples the
server's RSS every few seconds. It prints the samples, then the average RSS of
the first and the last window (a minute each, or a third of the run if that
is shorter) and their ratio. Exits 1 if the ratio is 1.10 or more.

    python bench/soak.py                        # 5 minutes, SQLite in a temp dir
    python bench/soak.py --minutes 1 --interval 2
    python bench/soak.py --db postgresql://postgres@127.0.0.1:5432/test   # in a scratch schema, dropped after
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx

from threaddesk.storage import is_postgres_url, open_storage
from threaddesk.users import UserManager

FLAT_RATIO = 1.10


def rss_mb(pid: int) -> float:
    """Resident set size of process `pid`, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def add_user(database_url: str, name: str) -> str:
    storage = await open_storage(database_url, pool_size=1, turn_pool_size=1)
    try:
        return (await UserManager(storage.users).add(name))[1]
    finally:
        await storage.aclose()


async def wait_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited with {process.returncode}")
            try:
                if (await client.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not come up")
            await asyncio.sleep(0.1)


class Load:
    """Steady traffic: `clients` loops, each one turn at a time on its own rotating thread."""

    def __init__(self, client: httpx.AsyncClient, turns_per_thread: int) -> None:
        self.client = client
        self.turns_per_thread = turns_per_thread
        self.turns = 0
        self.errors = 0
        self._ids = itertools.count()

    async def _new_thread(self) -> str:
        thread_id = f"soak-{next(self._ids)}"
        response = await self.client.post("/threads", json={"thread_id": thread_id})
        response.raise_for_status()
        return thread_id

    async def client_loop(self, stop: asyncio.Event) -> None:
        thread_id, done = await self._new_thread(), 0
        while not stop.is_set():
            text = f"Hi, I'm Customer {done}. My parcel {thread_id} is late."
            response = await self.client.post(f"/threads/{thread_id}/messages", json={"content": text})
            if response.status_code != 200:
                self.errors += 1
            self.turns += 1
            done += 1
            if done == self.turns_per_thread:
                await self.client.delete(f"/threads/{thread_id}")
                thread_id, done = await self._new_thread(), 0


@contextmanager
def scratch_database(url: str | None, workdir: str) -> Iterator[str]:
    """A SQLite file in `workdir`, or for PostgreSQL a schema of its own, dropped afterwards."""
    if url is None or not is_postgres_url(url):
        yield url or str(Path(workdir) / "soak.sqlite")
        return
    import psycopg

    schema = f"td_soak_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def window_average(samples: list[tuple[float, float]], start: float, end: float) -> float:
    values = [rss for at, rss in samples if start <= at <= end]
    return sum(values) / len(values)


async def soak(args: argparse.Namespace, database_url: str) -> int:
    token = await add_user(database_url, "soak")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "threaddesk.cli", "--db", database_url, "serve", "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADDESK_")}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await wait_up(url, process)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
            load = Load(client, args.turns_per_thread)
            stop = asyncio.Event()
            loops = [asyncio.create_task(load.client_loop(stop)) for _ in range(args.clients)]
            duration = args.minutes * 60
            started = time.monotonic()
            samples: list[tuple[float, float]] = []
            print(f"{'t (s)':>7} {'RSS (MB)':>9} {'turns':>7} {'turns/s':>8}")
            last_turns, last_at = 0, started
            while (elapsed := time.monotonic() - started) < duration:
                if process.poll() is not None:
                    raise SystemExit(f"the server died with {process.returncode}")
                for task in loops:
                    if task.done() and task.exception() is not None:
                        raise task.exception()
                now = time.monotonic()
                rate = (load.turns - last_turns) / max(now - last_at, 1e-9)
                last_turns, last_at = load.turns, now
                samples.append((elapsed, rss_mb(process.pid)))
                print(f"{elapsed:7.0f} {samples[-1][1]:9.1f} {load.turns:7d} {rate:8.1f}", flush=True)
                await asyncio.sleep(args.interval)
            stop.set()
            await asyncio.gather(*loops)
    finally:
        process.terminate()
        process.wait(timeout=30)

    window = min(60.0, duration / 3)
    first = window_average(samples, 0, window)
    last = window_average(samples, duration - window, duration)
    ratio = last / first
    flat = ratio < FLAT_RATIO
    print(
        f"\n{load.turns} turns ({load.turns / duration:.1f}/s), {load.errors} non-200, "
        f"{args.clients} clients, {len(samples)} samples"
    )
    print(
        f"RSS first {window:.0f}s avg {first:.1f} MB, last {window:.0f}s avg {last:.1f} MB, "
        f"ratio {ratio:.3f}, peak {max(r for _, r in samples):.1f} MB: "
        + ("flat" if flat else f"GROWING (>= {FLAT_RATIO})")
    )
    return 0 if flat and not load.errors else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--clients", type=int, default=20, help="concurrent conversations")
    parser.add_argument("--turns-per-thread", type=int, default=10)
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temp dir)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="threaddesk-soak-") as workdir,
        scratch_database(args.db, workdir) as database_url,
    ):
        code = asyncio.run(soak(args, database_url))
    sys.exit(code)


if __name__ == "__main__":
    main()
