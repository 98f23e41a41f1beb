"""Bench 2: one thread, N turns (default 500): does a long conversation slow every turn down?

Reports the mean (and median) per-turn time over the first and last 10 turns, their ratio,
and what the thread costs on disk (database size, checkpoint and write rows),
for threaddesk and plain LangGraph, each contender in its own subprocess.
The last turn asks "What's my name?" (given on turn 1) and must be answered right.

    python bench/history.py                 # 500 turns
    python bench/history.py --turns 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _contenders import SQLITE_CONTENDERS, db_stats, expected_last, open_contender, script  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
WINDOW = 10


async def child(name: str, turns: int, workdir: Path) -> dict:
    async with open_contender(name, workdir) as c:
        lines = script(7, turns)
        for text in script(8, 2):  # warm up (imports, caches) on a thread not measured
            await c.turn(8, "warmup", text) if c.is_async else c.turn(8, "warmup", text)
        times: list[float] = []
        cpu: list[float] = []  # this process's CPU time per turn: less moved by other load on the machine
        answer = ""
        for text in lines:
            t0, c0 = time.perf_counter(), time.process_time()
            answer = await c.turn(7, "long", text) if c.is_async else c.turn(7, "long", text)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        if answer != expected_last(7):
            raise SystemExit(f"{name}: after {turns} turns 'What's my name?' got {answer!r}")
        first = sum(times[:WINDOW]) / WINDOW
        last = sum(times[-WINDOW:]) / WINDOW
        first_median = statistics.median(times[:WINDOW])
        last_median = statistics.median(times[-WINDOW:])
        return {
            "contender": name,
            "turns": turns,
            "first_ms": first * 1000,
            "last_ms": last * 1000,
            "ratio": last / first,
            "first_median_ms": first_median * 1000,
            "last_median_ms": last_median * 1000,
            "median_ratio": last_median / first_median,
            "cpu_ratio": sum(cpu[-WINDOW:]) / sum(cpu[:WINDOW]),
            "total_s": sum(times),
            **db_stats(c.db_path),
        }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--contenders", default=",".join(SQLITE_CONTENDERS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.turns, Path(args.workdir)))))
        return

    rows = []
    with tempfile.TemporaryDirectory(prefix="threaddesk-bench-") as tmp:
        for name in args.contenders.split(","):
            cmd = [sys.executable, __file__, "--child", name, "--turns", str(args.turns), "--workdir", tmp]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                raise SystemExit(f"{name} failed:\n{out.stderr}")
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    n = args.turns
    head = (
        f"{'contender':<13} {'turns 1-10 ms':>13} {f'turns {n - 9}-{n} ms':>15} {'ratio':>6}"
        f" {'median ms':>13} {'median ratio':>12} {'CPU ratio':>9}"
        f" {'ckpt rows':>9} {'write rows':>10} {'DB MB':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        medians = f"{r['first_median_ms']:.2f} / {r['last_median_ms']:.2f}"
        print(
            f"{r['contender']:<13} {r['first_ms']:>13.2f} {r['last_ms']:>15.2f} {r['ratio']:>5.2f}x"
            f" {medians:>13} {r['median_ratio']:>11.2f}x {r['cpu_ratio']:>8.2f}x"
            f" {r.get('checkpoint_rows', ''):>9} {r.get('write_rows', ''):>10}"
            f" {r.get('db_bytes', 0) / 2**20:>7.2f}"
        )
    RESULTS.mkdir(exist_ok=True)
    out_path = RESULTS / f"history-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out_path.write_text(
        json.dumps({"bench": "history", "python": platform.python_version(), "rows": rows}, indent=2)
    )
    print(f"\nwrote {out_path}")


if __name__ == "__main__":
    main()
