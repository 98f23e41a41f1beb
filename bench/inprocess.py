"""Bench 1b: threaddesk vs plain LangGraph tuned the same way, in-process: turns/s AND CPU ms/turn.

Plain LangGraph at its defaults (`durability="async"`: three checkpoints and
their write rows per turn; SQLite `synchronous=FULL`: an fsync per commit)
flatters threaddesk, which runs `durability="exit"` and `synchronous=NORMAL`.
So beside the stock contenders this runs the tuned ones (`_contenders.py`):

- `lg-sqlite-tuned`, `lg-aiosqlite-tuned`: `SqliteSaver` / `AsyncSqliteSaver`,
  `durability="exit"`, WAL + `synchronous=NORMAL` (threaddesk's settings);
- `lg-postgres-tuned`: `AsyncPostgresSaver` over a pool of 10 connections (threaddesk's
  default pool size), `durability="exit"`; `lg-postgres` is LangGraph's documented
  `from_conn_string` (one connection, default durability).

Each round runs every contender once, each in its own subprocess on a fresh
database, in a rotated order (so none always runs first or last on a machine
that other work shares); the table gives the median of the rounds and the
spread (min-max). CPU ms/turn is the child's `time.process_time()` (every thread
of the process) over the measured turns: other processes move it far less
than wall time. Every thread's last reply must name its own customer.

    python bench/inprocess.py                                   # SQLite, 1,000 threads x 2 turns, 3 rounds
    python bench/inprocess.py --before ../main                  # and threaddesk as on main, beside
    python bench/inprocess.py --postgres-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --contenders td-postgres,lg-postgres-tuned --threads 1000 --turns 4 --concurrency 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _contenders import expected_last, open_contender, script  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SQLITE = ("td-sqlite", "lg-sqlite-tuned", "lg-aiosqlite-tuned", "lg-sqlite", "lg-aiosqlite")


async def child(name: str, threads: int, turns: int, concurrency: int, workdir: Path, pg: str | None) -> dict:
    settings = {"postgres_url": pg} if pg and "postgres" in name else {}
    async with open_contender(name, workdir, **settings) as c:
        scripts = [script(i, turns) for i in range(threads)]
        last = [""] * threads
        for text in script(threads, 2):  # warm-up on a thread not measured
            await c.turn(threads, "warmup", text) if c.is_async else c.turn(threads, "warmup", text)
        cpu, start = time.process_time(), time.perf_counter()
        for k in range(turns):
            if not c.is_async:
                for i in range(threads):
                    last[i] = c.turn(i, f"t{i}", scripts[i][k])
                continue
            pending = iter(range(threads))

            async def worker(k: int = k, pending=pending) -> None:
                for i in pending:
                    last[i] = await c.turn(i, f"t{i}", scripts[i][k])

            await asyncio.gather(*(worker() for _ in range(min(concurrency, threads))))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    wrong = [i for i in range(threads) if last[i] != expected_last(i)]
    if wrong:
        raise SystemExit(f"{name}: isolation check failed on {len(wrong)} threads, e.g. {last[wrong[0]]!r}")
    n = threads * turns
    return {"contender": name, "turns": n, "turns_per_s": n / elapsed, "cpu_ms_per_turn": cpu / n * 1000}


def run_child(name: str, args: argparse.Namespace, workdir: Path) -> dict:
    env = None
    if name.endswith("-before"):  # threaddesk from another checkout (`--before`), e.g. main
        env = {**os.environ, "PYTHONPATH": str(Path(args.before) / "src")}
    cmd = [sys.executable, __file__, "--child", name.removesuffix("-before"), "--workdir", str(workdir)]
    for flag in ("threads", "turns", "concurrency"):
        cmd += [f"--{flag}", str(getattr(args, flag))]
    if args.postgres_url:
        cmd += ["--postgres-url", args.postgres_url]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode:
        raise SystemExit(f"{name} failed:\n{out.stderr}")
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "contender": name}


def summary(rows: list[dict], names: list[str], ours: str) -> str:
    def stats(name: str, key: str) -> tuple[float, float, float]:
        values = [r[key] for r in rows if r["contender"] == name]
        return statistics.median(values), min(values), max(values)

    head = (
        f"{'contender':<20} {'turns/s median':>14} {'(min-max)':>13} {'CPU ms/turn':>11} {'(min-max)':>11}"
        f" {f'{ours} turns/s ÷ this':>24} {'CPU ÷ this':>10}"
    )
    lines = [head, "-" * len(head)]
    base = stats(ours, "turns_per_s")[0], stats(ours, "cpu_ms_per_turn")[0]
    for name in names:
        tps, tlo, thi = stats(name, "turns_per_s")
        cpu, clo, chi = stats(name, "cpu_ms_per_turn")
        ratio = "" if name == ours else f"{base[0] / tps:.2f}x"
        cpu_ratio = "" if name == ours else f"{base[1] / cpu:.2f}x"
        spread, cpu_spread = f"({tlo:.0f}-{thi:.0f})", f"({clo:.2f}-{chi:.2f})"
        lines.append(
            f"{name:<20} {tps:>14.0f} {spread:>13} {cpu:>11.2f} {cpu_spread:>11} {ratio:>24} {cpu_ratio:>10}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1, help="callers in flight (async contenders)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--contenders", default=",".join(SQLITE))
    parser.add_argument("--postgres-url", help="a PostgreSQL server; each contender gets a fresh database")
    parser.add_argument(
        "--before",
        help="another checkout of threaddesk (e.g. main): adds `td-...-before` contenders run from it",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = asyncio.run(
            child(
                args.child, args.threads, args.turns, args.concurrency, Path(args.workdir), args.postgres_url
            )
        )
        print(json.dumps(result))
        return
    names = args.contenders.split(",")
    ours = next((n for n in names if n.startswith("td-")), names[0])
    if args.before:
        names.append(f"{ours}-before")
    rows = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="threaddesk-inprocess-") as tmp:
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                rows.append({**run_child(name, args, Path(tmp)), "round": r})
                row = rows[-1]
                print(
                    f"  round {r + 1} {name:<20} {row['turns_per_s']:7.0f} turns/s"
                    f" {row['cpu_ms_per_turn']:6.2f} CPU ms/turn",
                    file=sys.stderr,
                )
    print(
        f"{args.threads} threads x {args.turns} turns, {args.concurrency} in flight, {args.rounds} rounds;"
        f" load average before {load[0]:.1f}, after {os.getloadavg()[0]:.1f}"
    )
    print(summary(rows, names, ours))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"inprocess-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps({"bench": "inprocess", "python": platform.python_version(), "rows": rows}, indent=2)
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
