"""Bench 3b: what do idle threads cost in memory? (target: 10,000 idle threads add < 50 MB RSS)

Opens a SQLite-backed desk, warms it with one turn, notes the resident set
size, then holds 2-turn conversations on N more threads, lets them go idle,
and notes the RSS again. Nothing per thread should stay in memory: the
registry, checkpoints and per-thread locks live in SQLite or are dropped
when the turn ends.

    python bench/idle.py                  # 10,000 threads
    python bench/idle.py --threads 1000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _contenders import current_rss_mb, expected_last, open_contender, script  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


async def run(threads: int, workdir: Path) -> dict:
    async with open_contender("td-sqlite", workdir) as c:
        await c.turn(0, "warm", "Hi, I'm Warm.")
        gc.collect()
        before = current_rss_mb()
        for k in range(2):
            for i in range(threads):
                answer = await c.turn(i, f"t{i}", script(i, 2)[k])
                if k == 1 and answer != expected_last(i):
                    raise SystemExit(f"t{i} answered {answer!r}")
        gc.collect()
        after = current_rss_mb()
        locks_held = len(c.extra["desk"].threads.locks)
    return {
        "threads": threads,
        "rss_before_mb": before,
        "rss_after_mb": after,
        "added_mb": after - before,
        "locks_held": locks_held,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="threaddesk-bench-") as tmp:
        r = asyncio.run(run(args.threads, Path(tmp)))
    print(
        f"{r['threads']} idle threads on SQLite: RSS {r['rss_before_mb']:.1f} -> {r['rss_after_mb']:.1f} MB"
        f" (+{r['added_mb']:.1f} MB), per-thread locks still held: {r['locks_held']}"
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"idle-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"bench": "idle", "python": platform.python_version(), **r}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
