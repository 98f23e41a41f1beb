"""Bench 3: 100,000 threads, half expired: list a user's threads, then clean up.

Seeding runs one real 4-turn conversation through threaddesk, then copies its
registry row, checkpoint rows and write rows for every other thread with
`executemany` (what N real conversations would leave, minus hours of turns).
Everything measured goes through the real code: `ThreadManager.list` for a
user's threads newest first, page by page, and `ThreadManager.cleanup("30d")`
for the expiry. Afterwards the script checks that exactly the expired threads
and their checkpoints are gone and the rest are intact.

    python bench/cleanup.py                    # 100,000 threads, 50,000 expired
    python bench/cleanup.py --threads 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _contenders import db_stats, expected_last, percentile, script  # noqa: E402

from threaddesk import open_desk  # noqa: E402
from threaddesk.agent.offline import OfflineChatModel  # noqa: E402
from threaddesk.config import Settings  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
USERS = 1000  # threads are spread round-robin over this many users
TEMPLATE = "template"


async def seed(db: Path, threads: int, now: datetime) -> None:
    """One real conversation, copied `threads` times; odd threads idle 60 days, even ones 1 hour."""
    async with open_desk(Settings(database_url=str(db)), model=OfflineChatModel()) as desk:
        for text in script(0, 4):
            await desk.send(TEMPLATE, text, user_id="template-user", create=True)
    conn = sqlite3.connect(str(db))
    try:
        row = conn.execute(
            "SELECT title, metadata, status, message_count FROM threaddesk_threads WHERE thread_id = ?",
            (TEMPLATE,),
        ).fetchone()
        ckpts = conn.execute(
            "SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, metadata"
            " FROM checkpoints WHERE thread_id = ?",
            (TEMPLATE,),
        ).fetchall()
        writes = conn.execute(
            "SELECT checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value"
            " FROM writes WHERE thread_id = ?",
            (TEMPLATE,),
        ).fetchall()
        conn.execute("DELETE FROM threaddesk_threads WHERE thread_id = ?", (TEMPLATE,))
        conn.execute("DELETE FROM checkpoints WHERE thread_id = ?", (TEMPLATE,))
        conn.execute("DELETE FROM writes WHERE thread_id = ?", (TEMPLATE,))
        base = now.timestamp()
        for start in range(0, threads, 10_000):
            ids = [(i, f"thread-{i:06d}") for i in range(start, min(threads, start + 10_000))]
            conn.executemany(
                "INSERT INTO threaddesk_threads (thread_id, user_id, title, metadata, status,"
                " created_at, last_active_at, message_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        tid,
                        f"user{i % USERS}",
                        *row[:3],
                        base - (60 * 86400 if i % 2 else 3600) - i,
                        base - (60 * 86400 if i % 2 else 3600) - i,
                        row[3],
                    )
                    for i, tid in ids
                ],
            )
            conn.executemany(
                "INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id,"
                " type, checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(tid, *c) for _, tid in ids for c in ckpts],
            )
            conn.executemany(
                "INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx,"
                " channel, type, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(tid, *w) for _, tid in ids for w in writes],
            )
            conn.commit()
    finally:
        conn.close()


async def measure(db: Path, threads: int, pages: int) -> dict:
    async with open_desk(Settings(database_url=str(db)), model=OfflineChatModel()) as desk:
        manager = desk.threads
        # A user's threads, newest first, page after page (50 a page).
        page_ms: list[float] = []
        for user in ("user0", f"user{USERS // 2}", f"user{USERS - 1}"):
            cursor, seen, previous = None, 0, None
            for _ in range(pages):
                t0 = time.perf_counter()
                page = await manager.list(user_id=user, limit=50, cursor=cursor)
                page_ms.append((time.perf_counter() - t0) * 1000)
                for thread in page.threads:
                    assert thread.user_id == user
                    if previous is not None:
                        assert thread.last_active_at <= previous
                    previous = thread.last_active_at
                seen += len(page.threads)
                cursor = page.next_cursor
                if cursor is None:
                    break
        t0 = time.perf_counter()
        removed = await manager.cleanup("30d")
        clean_s = time.perf_counter() - t0
        left = await manager.registry.count()
        # Continue one surviving thread, to show its checkpoints survived the cleanup.
        reply = await desk.send("thread-000000", "What's my name?", user_id="user0")
    stats = db_stats(db)
    expired = threads // 2
    ok = len(removed) == expired and left == threads - expired and reply.text == expected_last(0)
    per_thread = None
    conn = sqlite3.connect(str(db))
    try:
        orphans = conn.execute(
            "SELECT count(DISTINCT thread_id) FROM checkpoints WHERE thread_id NOT IN"
            " (SELECT thread_id FROM threaddesk_threads)"
        ).fetchone()[0]
        per_thread = conn.execute(
            "SELECT count(*) * 1.0 / count(DISTINCT thread_id) FROM checkpoints"
        ).fetchone()[0]
    finally:
        conn.close()
    if not ok or orphans:
        raise SystemExit(
            f"cleanup check failed: removed={len(removed)} left={left} orphans={orphans} reply={reply.text!r}"
        )
    return {
        "threads": threads,
        "expired": expired,
        "list_page_p50_ms": percentile(page_ms, 50),
        "list_page_max_ms": max(page_ms),
        "list_pages": len(page_ms),
        "cleanup_s": clean_s,
        "removed": len(removed),
        "threads_left": left,
        "checkpoints_per_thread_left": per_thread,
        **stats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=3, help="pages listed per user")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="threaddesk-bench-") as tmp:
        db = Path(tmp) / "cleanup.sqlite"
        t0 = time.perf_counter()
        asyncio.run(seed(db, args.threads, datetime.now(UTC) - timedelta(seconds=1)))
        seeded = time.perf_counter() - t0
        before = db_stats(db)
        r = asyncio.run(measure(db, args.threads, args.pages))
    r["seed_s"] = seeded
    r["checkpoint_rows_before"] = before["checkpoint_rows"]
    r["write_rows_before"] = before["write_rows"]
    print(
        f"seeded {args.threads} threads ({before['checkpoint_rows']} checkpoints,"
        f" {before['write_rows']} writes) in {seeded:.1f} s"
    )
    print(
        f"list a user's threads, newest first: p50 {r['list_page_p50_ms']:.2f} ms a page,"
        f" max {r['list_page_max_ms']:.2f} ms over {r['list_pages']} pages"
    )
    print(
        f"cleanup of {r['removed']} expired threads: {r['cleanup_s']:.1f} s"
        f" ({r['removed'] / r['cleanup_s']:.0f} threads/s)"
    )
    print(
        f"left: {r['threads_left']} threads, {r['checkpoint_rows']} checkpoints,"
        f" {r['write_rows']} writes, no orphans; a survivor still answers"
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"cleanup-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"bench": "cleanup", "python": platform.python_version(), **r}, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
