"""Bench 1: T interleaved threads x 4 turns, threaddesk vs plain LangGraph.

Every contender runs in its own subprocess (clean peak RSS) on a fresh
database. Turns are interleaved: round k sends turn k to every thread, through
a pool of `--concurrency` concurrent callers (async contenders) or one caller
(the sync `SqliteSaver`, used as the tutorial uses it). Latency is one call's
time, excluding time queued for a free caller. Each thread's last answer must
name its own customer, on every run, or the script fails.

    python bench/threads.py                      # T = 10, 100, 1000
    python bench/threads.py --threads 10,10000   # the 10,000-thread run
    python bench/threads.py --quick              # T = 10, 100; a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _contenders import (  # noqa: E402
    CONTENDERS,
    db_stats,
    expected_last,
    open_contender,
    peak_rss_mb,
    percentile,
    script,
)

RESULTS = Path(__file__).resolve().parent / "results"


async def child(name: str, threads: int, turns: int, concurrency: int, workdir: Path) -> dict:
    async with open_contender(name, workdir) as c:
        scripts = [script(i, turns) for i in range(threads)]
        last: list[str] = [""] * threads
        latencies: list[float] = []

        async def one(i: int, k: int) -> None:
            t0 = time.perf_counter()
            if c.is_async:
                answer = await c.turn(i, f"t{i}", scripts[i][k])
            else:
                answer = c.turn(i, f"t{i}", scripts[i][k])
            latencies.append(time.perf_counter() - t0)
            last[i] = answer

        for text in script(threads, 2):  # warm up (imports, caches) on a thread not measured
            await c.turn(threads, "warmup", text) if c.is_async else c.turn(threads, "warmup", text)
        start = time.perf_counter()
        for k in range(turns):
            if c.is_async:
                pending = iter(range(threads))

                async def worker(k: int = k, pending=pending) -> None:
                    for i in pending:
                        await one(i, k)

                await asyncio.gather(*(worker() for _ in range(min(concurrency, threads))))
            else:
                for i in range(threads):
                    await one(i, k)
        elapsed = time.perf_counter() - start
        wrong = [i for i in range(threads) if last[i] != expected_last(i)]
        if wrong:
            i = wrong[0]
            raise SystemExit(
                f"{name}: isolation check failed on {len(wrong)} threads, e.g. t{i}: {last[i]!r}"
            )
        return {
            "contender": name,
            "threads": threads,
            "turns": threads * turns,
            "seconds": elapsed,
            "turns_per_s": threads * turns / elapsed,
            "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000,
            "peak_rss_mb": peak_rss_mb(),
            "isolation_ok": True,
            **db_stats(c.db_path),
        }


def run_child(name: str, threads: int, args: argparse.Namespace, workdir: Path) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        name,
        "--threads",
        str(threads),
        "--turns",
        str(args.turns),
        "--concurrency",
        str(args.concurrency),
        "--workdir",
        str(workdir),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{name} T={threads} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    head = (
        f"{'T':>6} {'contender':<13} {'turns/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'RSS MB':>7}"
        f" {'ckpt rows':>9} {'DB MB':>6} {'td-sqlite/this':>14}"
    )
    lines = [head, "-" * len(head)]
    by_t: dict[int, dict[str, dict]] = {}
    for r in rows:
        by_t.setdefault(r["threads"], {})[r["contender"]] = r
    for t, group in by_t.items():
        ours = group.get("td-sqlite")
        for name, r in group.items():
            ratio = f"{ours['turns_per_s'] / r['turns_per_s']:.2f}x" if ours and name != "td-sqlite" else ""
            rows_ = r.get("checkpoint_rows", "")
            size = f"{r['db_bytes'] / 2**20:.1f}" if "db_bytes" in r else ""
            lines.append(
                f"{t:>6} {name:<13} {r['turns_per_s']:>8.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f}"
                f" {r['peak_rss_mb']:>7.0f} {rows_:>9} {size:>6} {ratio:>14}"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", default="10,100,1000", help="comma-separated thread counts")
    parser.add_argument("--turns", type=int, default=4, help="turns per thread (>= 2)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent callers (async contenders)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--quick", action="store_true", help="T = 10, 100 only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = asyncio.run(
            child(args.child, int(args.threads), args.turns, args.concurrency, Path(args.workdir))
        )
        print(json.dumps(result))
        return

    counts = [10, 100] if args.quick else [int(t) for t in args.threads.split(",")]
    names = args.contenders.split(",")
    rows = []
    with tempfile.TemporaryDirectory(prefix="threaddesk-bench-") as tmp:
        for t in counts:
            for name in names:
                rows.append(run_child(name, t, args, Path(tmp)))
                r = rows[-1]
                print(f"  {name:<13} T={t:<6} {r['turns_per_s']:8.0f} turns/s", file=sys.stderr)
    print(table(rows))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"threads-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {
                "bench": "threads",
                "python": platform.python_version(),
                "turns_per_thread": args.turns,
                "concurrency": args.concurrency,
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
