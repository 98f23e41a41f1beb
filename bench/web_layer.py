"""Where an HTTP request's CPU goes besides the turn: the ASGI app called in process, no socket.

For threaddesk's app (`create_app` over a SQLite file, a user's bearer token)
and the FastAPI contender's (`bench/_plain_http.py --tuned`), `POST
/threads/{id}/messages` is called straight through the app (middlewares,
routing, dependencies, authentication, response encoding), by `--concurrency`
callers at once, each sending 5 messages on each of its own threads. Printed
per request: CPU us (`time.process_time`, every thread) and the part of it
spent in the garbage collector (`gc.callbacks`), with collections by generation.

- `--stub`: the turn replaced by a canned reply, so what is left is the web layer alone;
- `--freeze`: `gc.freeze()` after startup, as `threaddesk serve` does, for both apps.

    python bench/web_layer.py --stub                  # the web layer, one caller
    python bench/web_layer.py --concurrency 100       # real turns, 100 at once: GC under load
    python bench/web_layer.py --concurrency 100 --freeze
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

TURNS_PER_THREAD = 5
# What httpx sends besides the body's own headers.
CLIENT_HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"accept", b"*/*"),
    (b"accept-encoding", b"gzip, deflate"),
    (b"connection", b"keep-alive"),
    (b"user-agent", b"python-httpx/0.28.1"),
]


class GcClock:
    """CPU time spent inside the garbage collector, and collections by generation."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def reset(self) -> None:
        self.seconds, self.collections = 0.0, [0, 0, 0]

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started
            self.collections[info["generation"]] += 1


async def post(app: Any, path: str, content: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"content": content}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "POST",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            *CLIENT_HEADERS,
            *headers,
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ],
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if sent[0]["status"] != 200:
        raise SystemExit(f"{path}: HTTP {sent[0]['status']}: {sent[1:]}")


async def measure(
    name: str, app: Any, threads: list[str], headers: list, args: argparse.Namespace, gc_clock: GcClock
) -> None:
    """Warm up on threads of its own, then time `--requests` requests by `--concurrency` callers."""

    def path(thread_id: str) -> str:
        return f"/threads/{thread_id}/messages"

    warm, timed = threads[:20], threads[20:]
    for thread_id in warm:
        for k in range(TURNS_PER_THREAD):
            await post(app, path(thread_id), f"Hi, I am Ada ({k})", headers)
    if args.freeze:
        gc.collect()
        gc.freeze()

    async def caller(first: int) -> None:
        for t in range(first, len(timed), args.concurrency):
            for k in range(TURNS_PER_THREAD):
                await post(app, path(timed[t]), f"Hi, I am Ada ({k})", headers)

    gc_clock.reset()
    cpu = time.process_time()
    await asyncio.gather(*(caller(i) for i in range(args.concurrency)))
    cpu = time.process_time() - cpu
    requests = len(timed) * TURNS_PER_THREAD
    print(
        f"{name:<18} {'stub' if args.stub else 'turn':<5} {args.concurrency:>4} {1e6 * cpu / requests:>12.0f}"
        f" {1e6 * gc_clock.seconds / requests:>10.0f} {str(gc_clock.collections):>16}"
        f" {len(gc.get_objects()):>9}"
    )
    gc.unfreeze()


async def threaddesk_app(args: argparse.Namespace, threads: list[str], gc_clock: GcClock) -> None:
    from threaddesk import open_desk
    from threaddesk.agent import OfflineChatModel
    from threaddesk.config import Settings
    from threaddesk.web import create_app

    db = Path(tempfile.mkdtemp(prefix="web-layer-")) / "desk.sqlite"
    settings = Settings(database_url=str(db), model="offline")
    async with open_desk(settings, model=OfflineChatModel()) as desk:
        _, token = await desk.users.add("bench")
        for thread_id in threads:
            await desk.threads.create("bench", thread_id)
        if args.stub:
            reply = await desk.send(threads[0], "Hi, I am Ada", user_id="bench")

            async def canned(*_: Any, **__: Any) -> Any:
                return reply

            desk.send = canned  # type: ignore[method-assign]
        app = create_app(settings, desk=desk)
        await measure(
            "threaddesk", app, threads, [(b"authorization", f"Bearer {token}".encode())], args, gc_clock
        )


async def plain_app(args: argparse.Namespace, threads: list[str], gc_clock: GcClock) -> None:
    import _plain_http

    db = Path(tempfile.mkdtemp(prefix="web-layer-")) / "plain.sqlite"
    app = _plain_http.build_app(str(db), tuned=True)
    async with app.router.lifespan_context(app):
        if args.stub:
            state = await app.state.agent.ainvoke(
                {"messages": [("user", "Hi, I am Ada")]}, {"configurable": {"thread_id": threads[0]}}
            )

            class Canned:
                async def ainvoke(self, *_: Any, **__: Any) -> Any:
                    return state

            app.state.agent = Canned()
        await measure("fastapi-tuned", app, threads, [], args, gc_clock)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per app")
    parser.add_argument("--concurrency", type=int, default=1, help="callers at once")
    parser.add_argument("--stub", action="store_true", help="a canned reply instead of the turn")
    parser.add_argument("--freeze", action="store_true", help="gc.freeze() after the warm-up")
    parser.add_argument("--apps", default="threaddesk,plain")
    args = parser.parse_args()
    gc_clock = GcClock()
    print(
        f"{'app':<18} {'turn':<5} {'conc':>4} {'CPU us/req':>12} {'GC us/req':>10}"
        f" {'collections':>16} {'objects':>9}"
    )
    runners: dict[str, Callable[..., Any]] = {"threaddesk": threaddesk_app, "plain": plain_app}
    for name in args.apps.split(","):
        threads = [str(uuid.uuid4()) for _ in range(20 + args.requests // TURNS_PER_THREAD)]
        asyncio.run(runners[name](args, threads, gc_clock))


if __name__ == "__main__":
    main()
