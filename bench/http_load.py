"""Bench 4: N concurrent HTTP clients against `threaddesk serve`, plain LangGraph, and LangGraph's servers.

(Not `bench/http.py`: a script there would shadow the standard library's `http` package.)

Each contender is a real server process on a free loopback port:

- `td-serve`: `threaddesk serve` (SQLite file, offline model, a bearer token of a user made for
  the run); `td-serve-pg`: the same on PostgreSQL (`--postgres-url`, a fresh database);
- `lg-fastapi`: `bench/_plain_http.py`, the LangGraph tutorial agent with `AsyncSqliteSaver`
  behind one FastAPI route, no auth (LangGraph's defaults); `lg-fastapi-tuned`: the same with
  `durability="exit"` and WAL + `synchronous=NORMAL`, threaddesk's settings;
- LangGraph's servers over the very graph threaddesk serves (the agent's modules copied beside a
  `langgraph.json`, importing nothing of threaddesk, as `tests/conformance` does), each skipped
  with the reason when it is not installed: `lg-dev` (`langgraph dev`, in memory;
  `$THREADDESK_LANGGRAPH_CLI` or `.venv-langgraph/`), `langhost` (stock `langgraph-api` on
  PostgreSQL + Redis: `$LANGHOST` or `/work/peers/langhost/bin/langhost`, Redis at `--redis-url`)
  and `aegra` (PostgreSQL: `$AEGRA` or `/work/peers/aegra/bin/aegra`).

`--api` picks the call each turn makes: `messages` (`POST /threads/{id}/messages`: threaddesk and
the FastAPI apps only), `wait` (`POST /threads/{id}/runs/wait`, LangGraph's `runs.wait`) or
`background` (`POST /threads/{id}/runs` then `GET .../runs/{run_id}/join`: `runs.create` +
`runs.join`, timed together). N clients (httpx.AsyncClient) each own one thread and send `--turns`
messages one after another; the N clients run concurrently. Latency is one turn's round trip(s).
Each thread's last reply must name its own customer, or the script fails.

    python bench/http_load.py                       # N = 10, 100
    python bench/http_load.py --clients 100 --turns 8 --interval 0.5
    python bench/http_load.py --api wait --clients 20 --turns 3 --interval 0 \
        --contenders td-serve,lg-dev,td-serve-pg,langhost,aegra \
        --postgres-url postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _contenders import expected_last, percentile, script  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
CONTENDERS = ("td-serve", "lg-fastapi", "lg-fastapi-tuned", "lg-dev", "td-serve-pg", "langhost", "aegra")
PEERS = ("lg-dev", "langhost", "aegra")  # LangGraph's API only: no /threads/{id}/messages
POSTGRES = ("td-serve-pg", "langhost", "aegra")
GRAPH_ID = "support_agent"
PEER_ENV = {
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGGRAPH_NO_ANALYTICS": "1",
    "LANGSMITH_API_KEY": "",
}


class Skip(Exception):
    """A contender that cannot run here, and why."""


def peer_executable(name: str) -> Path:
    """The peer server's executable, or `Skip` saying what to install."""
    if name == "lg-dev":
        candidates = [
            os.environ.get("THREADDESK_LANGGRAPH_CLI"),
            str(REPO / ".venv-langgraph/bin/langgraph"),
            shutil.which("langgraph"),
        ]
        hint = "langgraph-cli[inmem] (see tests/conformance/requirements.txt)"
    elif name == "langhost":
        candidates = [os.environ.get("LANGHOST"), "/work/peers/langhost/bin/langhost"]
        hint = "pip install langhost langgraph-runtime-pg (set $LANGHOST)"
    else:
        candidates = [os.environ.get("AEGRA"), "/work/peers/aegra/bin/aegra"]
        hint = "pip install aegra-api aegra-cli greenlet (set $AEGRA)"
    for candidate in filter(None, candidates):
        if Path(candidate).is_file():
            return Path(candidate)
    raise Skip(f"{name} is not installed: {hint}")


def fresh_postgres_db(server_url: str, name: str) -> str:
    """A new, empty database for one server (dropped by `drop_postgres_db`)."""
    import psycopg

    db = f"bench_http_{name.replace('-', '_')}_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {db}")
    return f"{server_url.rpartition('/')[0]}/{db}"


def drop_postgres_db(server_url: str, url: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {url.rpartition('/')[2]} WITH (FORCE)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def make_token(db: Path | str) -> str:
    """A non-admin user for the run, made through the users store (its threads are its own)."""
    from threaddesk import open_desk
    from threaddesk.agent import OfflineChatModel
    from threaddesk.config import Settings

    async with open_desk(Settings(database_url=str(db)), model=OfflineChatModel()) as desk:
        _, token = await desk.users.add("bench")
        return token


def peer_folder(workdir: Path, name: str) -> Path:
    """The support graph for a peer server: the agent's modules copied, importing no threaddesk."""
    sys.path.insert(0, str(REPO / "tests" / "conformance"))
    from langgraph_dev import write_graph_folder

    folder = write_graph_folder(workdir / f"{name}-graph")
    if name == "aegra":
        config = json.loads((folder / "langgraph.json").read_text())
        (folder / "aegra.json").write_text(json.dumps({"graphs": config["graphs"]}))
    return folder


def start_server(
    name: str, workdir: Path, port: int, args: argparse.Namespace
) -> tuple[subprocess.Popen, dict[str, str], str | None]:
    """The contender's server process, the headers its requests need, and the database made for it."""
    db = workdir / f"{name}.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADDESK_")}
    cwd = None
    made: str | None = None
    if name.startswith("lg-fastapi") and args.api != "messages":
        raise Skip(f"{name} has one route, POST /threads/{{id}}/messages: use --api messages")
    if name in POSTGRES and not args.postgres_url:
        raise Skip(f"{name} needs PostgreSQL: pass --postgres-url")
    if name in PEERS:
        cli = peer_executable(name)
        cwd = peer_folder(workdir, name)
        env.update(PEER_ENV, PYTHONPATH=str(cwd))
        env.pop("VIRTUAL_ENV", None)
        headers: dict[str, str] = {}
        if name == "lg-dev":
            cmd = [str(cli), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)]
        elif name == "langhost":
            made = fresh_postgres_db(args.postgres_url, name)
            cmd = [str(cli), "serve", "-c", "langgraph.json", "--database-uri", made, "--redis-uri"]
            # 10: langgraph-api's N_JOBS_PER_WORKER default (langhost's CLI without the flag passes 1)
            jobs = str(args.run_workers or 10)
            cmd += [args.redis_url, "--n-jobs-per-worker", jobs, "--no-browser", "--port", str(port)]
        else:
            made = fresh_postgres_db(args.postgres_url, name)
            env["DATABASE_URL"] = made
            cmd = [str(cli), "serve", "-c", "aegra.json", "--host", "127.0.0.1", "--port", str(port)]
    elif name in ("td-serve", "td-serve-pg"):
        url = str(db)
        if name == "td-serve-pg":
            url = made = fresh_postgres_db(args.postgres_url, name)
        token = asyncio.run(make_token(url))
        env.update(THREADDESK_DATABASE_URL=url, THREADDESK_MODEL="offline")
        if args.run_workers:
            env["THREADDESK_RUN_WORKERS"] = str(args.run_workers)
        if args.turn_pool:
            env["THREADDESK_PG_TURN_POOL_SIZE"] = str(args.turn_pool)
        cmd = [str(Path(sys.executable).with_name("threaddesk")), "serve", "--port", str(port)]
        headers = {"Authorization": f"Bearer {token}"}
    else:
        cmd = [sys.executable, str(Path(__file__).parent / "_plain_http.py"), "--db", str(db)]
        cmd += ["--port", str(port)] + (["--tuned"] if name == "lg-fastapi-tuned" else [])
        headers = {}
    log = open(workdir / f"{name}.log", "w")
    # A session of its own: stopping it stops its children too (`aegra serve` starts uvicorn as one,
    # which outlived it and took CPU from the contenders measured after it).
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True
    )
    return proc, headers, made


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's whole process group; after it has gone (or 30 s), SIGKILL to whatever
    of the group is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)
    time.sleep(0.5)  # children still shutting down after their parent
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


async def wait_ready(base: str, proc: subprocess.Popen, name: str) -> None:
    probe = {"lg-fastapi": "/healthz", "lg-fastapi-tuned": "/healthz", "aegra": "/info"}.get(name, "/ok")
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(1200):
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with {proc.returncode}")
            try:
                if (await client.get(probe)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"{name} did not start within 120 s")


async def one_turn(http: httpx.AsyncClient, api: str, thread_id: str, text: str) -> str:
    """One turn through the chosen API; the reply's text."""
    if api == "messages":
        response = await http.post(f"/threads/{thread_id}/messages", json={"content": text})
        response.raise_for_status()
        return response.json()["message"]["content"]
    body = {"assistant_id": GRAPH_ID, "input": {"messages": [{"role": "user", "content": text}]}}
    if api == "wait":
        response = await http.post(f"/threads/{thread_id}/runs/wait", json=body)
    else:
        created = await http.post(f"/threads/{thread_id}/runs", json=body)
        created.raise_for_status()
        response = await http.get(f"/threads/{thread_id}/runs/{created.json()['run_id']}/join")
    response.raise_for_status()
    return response.json()["messages"][-1]["content"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of process `pid` and every process under it (Linux /proc):
    some servers run their work in child processes."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (
            int(fields[1]),
            (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"),
        )
    tree, total = {pid}, 0.0
    changed = True
    while changed:
        changed = False
        for child, (parent, _) in stats.items():
            if parent in tree and child not in tree:
                tree.add(child)
                changed = True
    for member in tree:
        total += stats.get(member, (0, 0.0))[1]
    return total


async def run_load(
    name: str,
    base: str,
    headers: dict,
    server_pid: int,
    clients: int,
    turns: int,
    interval: float,
    tag: str,
    api: str = "messages",
) -> dict:
    """N clients, each with its own connection and thread, sending `turns` messages.

    `interval` 0: back to back (closed loop: the server's saturation throughput;
    latency is then N / throughput by Little's law). `interval` > 0: each client
    sends one message every `interval` seconds (starts staggered), like people
    chatting: latency is the service time with N clients connected.
    """
    ids = [str(uuid.uuid4()) for _ in range(clients)]  # LangGraph's servers take only UUIDs
    https = [httpx.AsyncClient(base_url=base, headers=headers, timeout=120) for _ in range(clients)]
    try:
        # Open every connection (and, where threads are made first, create every thread) before measuring.
        warm = str(uuid.uuid4())
        if name.startswith("lg-fastapi"):
            await asyncio.gather(*(h.get("/healthz") for h in https))
        else:
            creates = (h.post("/threads", json={"thread_id": t}) for h, t in zip(https, [*ids], strict=True))
            for response in await asyncio.gather(*creates):
                response.raise_for_status()
            (await https[0].post("/threads", json={"thread_id": warm})).raise_for_status()
        for text in script(clients, 2):
            await one_turn(https[0], api, warm, text)
        latencies: list[float] = []
        last = [""] * clients
        failed = [0] * clients
        errors: list[str] = []

        async def client(i: int, start: float) -> None:
            for k, text in enumerate(script(i, turns)):
                if interval:
                    await asyncio.sleep(max(0.0, start + (i / clients + k) * interval - time.perf_counter()))
                t0 = time.perf_counter()
                try:
                    last[i] = await one_turn(https[i], api, ids[i], text)
                except httpx.HTTPStatusError as exc:  # a server's own failure: counted, not timed
                    failed[i] += 1
                    errors.append(f"{exc.response.status_code} {exc.request.url.path}")
                    continue
                except httpx.TransportError as exc:  # the server dropped the connection
                    failed[i] += 1
                    errors.append(f"{type(exc).__name__} {exc.request.url.path}")
                    continue
                except (KeyError, IndexError, TypeError) as exc:  # a 2xx without the run's messages
                    failed[i] += 1
                    errors.append(f"no reply in the body ({type(exc).__name__}: {exc})")
                    continue
                latencies.append(time.perf_counter() - t0)

        server_cpu, client_cpu = cpu_seconds(server_pid), time.process_time()
        start = time.perf_counter()
        await asyncio.gather(*(client(i, start) for i in range(clients)))
        elapsed = time.perf_counter() - start
        server_cpu, client_cpu = cpu_seconds(server_pid) - server_cpu, time.process_time() - client_cpu
    finally:
        await asyncio.gather(*(h.aclose() for h in https))
    wrong = [i for i in range(clients) if last[i] != expected_last(i) and not failed[i]]
    if wrong:
        raise SystemExit(f"{name}: isolation check failed on {len(wrong)} threads, e.g. {last[wrong[0]]!r}")
    return {
        "contender": name,
        "api": api,
        "load": f"every {interval:g}s" if interval else "closed",
        "clients": clients,
        "turns": turns,
        "requests": len(latencies),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:3],
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies, default=float("nan")) * 1000,
        "server_cpu_ms_per_req": server_cpu / max(1, len(latencies)) * 1000,
        "client_cpu_ms_per_req": client_cpu / max(1, len(latencies)) * 1000,
    }


def run_contender(name: str, args: argparse.Namespace, workdir: Path, counts: list[int]) -> list[dict]:
    """Start the contender's server, run every load against it, stop it; its rows."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc, headers, made = start_server(name, workdir, port, args)
    rows = []
    try:
        base = f"http://127.0.0.1:{port}"
        asyncio.run(wait_ready(base, proc, name))
        for n in counts:
            for interval in (0.0, args.interval) if args.interval else (0.0,):
                tag = f"n{n}-{'paced' if interval else 'closed'}-{time.monotonic_ns()}"
                rows.append(
                    asyncio.run(
                        run_load(name, base, headers, proc.pid, n, args.turns, interval, tag, args.api)
                    )
                )
    finally:
        stop_server(proc)
        if made is not None:
            drop_postgres_db(args.postgres_url, made)
    return rows


def ours_for(name: str) -> str:
    """The threaddesk contender on the same class of storage (SQLite or PostgreSQL)."""
    return "td-serve-pg" if name in POSTGRES else "td-serve"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", default="10,100", help="comma-separated N values")
    parser.add_argument("--turns", type=int, default=5, help="messages per client (>= 2)")
    parser.add_argument(
        "--interval",
        type=float,
        default=1.0,
        help="seconds between a client's messages in the paced run (0: skip it)",
    )
    parser.add_argument("--contenders", default="td-serve,lg-fastapi,lg-fastapi-tuned")
    parser.add_argument("--api", choices=("messages", "wait", "background"), default="messages")
    parser.add_argument("--rounds", type=int, default=1, help="alternated rounds (median and spread)")
    parser.add_argument("--postgres-url", help="PostgreSQL server for td-serve-pg, langhost, aegra")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7", help="Redis for langhost")
    parser.add_argument(
        "--run-workers",
        type=int,
        help="background runs each server executes at once: THREADDESK_RUN_WORKERS for threaddesk,"
        " --n-jobs-per-worker for langhost (default: each one's own default)",
    )
    parser.add_argument(
        "--turn-pool",
        type=int,
        help="THREADDESK_PG_TURN_POOL_SIZE for td-serve-pg: its most turns at once (default 10)",
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.clients.split(",")]
    names = args.contenders.split(",")
    for name in names:
        if name not in CONTENDERS:
            raise SystemExit(f"unknown contender {name!r}; choose from {', '.join(CONTENDERS)}")
        if args.api == "messages" and name in PEERS:
            raise SystemExit(f"{name} speaks only LangGraph's API: use --api wait or --api background")
    rows: list[dict] = []
    skipped: dict[str, str] = {}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="threaddesk-http-") as tmp:
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name in order:
                if name in skipped:
                    continue
                try:
                    got = run_contender(name, args, Path(tmp) / f"{name}-{r}", counts)
                except Skip as why:
                    skipped[name] = str(why)
                    print(f"  skipped {name}: {why}", file=sys.stderr)
                    continue
                for row in got:
                    row["round"] = r
                    print(
                        f"  round {r + 1} {name:<17} N={row['clients']:<4} {row['load']:<11}"
                        f" {row['rps']:7.1f} req/s p99 {row['p99_ms']:8.1f} ms"
                        + (f" ({row['errors']} failed: {row['error_examples']})" if row["errors"] else ""),
                        file=sys.stderr,
                    )
                rows.extend(got)
    groups: dict[tuple[int, str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["clients"], row["load"], row["contender"]), []).append(row)

    def median(key: tuple[int, str, str], field: str) -> float:
        return statistics.median(r[field] for r in groups[key])

    print(
        f"api {args.api}, {args.turns} turns per client, {args.rounds} round(s), medians (min-max);"
        f" load average {load:.1f} before, {os.getloadavg()[0]:.1f} after;"
        + (
            f" background runs at once: {args.run_workers} for every contender"
            if args.run_workers
            else " background runs at once: each contender's default (10 for both)"
        )
        + (f"; td-serve-pg turn pool {args.turn_pool}" if args.turn_pool else "")
    )
    head = (
        f"{'N':>4} {'load':<11} {'contender':<17} {'req/s':>6} {'(min-max)':>13} {'p50 ms':>7} {'p99 ms':>8}"
        f" {'(min-max)':>15} {'srv CPU ms/req':>14} {'td req/s ÷ this':>15}"
    )
    print(head)
    print("-" * len(head))
    order = {c: k for k, c in enumerate(CONTENDERS)}
    for key in sorted(groups, key=lambda k: (k[0], k[1], order[k[2]])):
        n, load_name, name = key
        group = groups[key]
        ours = (n, load_name, ours_for(name))
        ratio = ""
        if ours in groups and ours[2] != name and median(key, "rps") > 0:
            ratio = f"{median(ours, 'rps') / median(key, 'rps'):.2f}x"
        rps = [r["rps"] for r in group]
        p99 = [r["p99_ms"] for r in group]
        print(
            f"{n:>4} {load_name:<11} {name:<17} {median(key, 'rps'):>6.0f}"
            f" {f'({min(rps):.0f}-{max(rps):.0f})':>13} {median(key, 'p50_ms'):>7.1f}"
            f" {median(key, 'p99_ms'):>8.1f} {f'({min(p99):.0f}-{max(p99):.0f})':>15}"
            f" {median(key, 'server_cpu_ms_per_req'):>14.1f} {ratio:>15}"
        )
    for key, group in groups.items():
        failures = sum(r["errors"] for r in group)
        if failures:
            print(
                f"{key[2]} N={key[0]} {key[1]}: {failures} requests failed, e.g. {group[0]['error_examples']}"
            )
    for name, why in skipped.items():
        print(f"skipped {name}: {why}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"http-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {
                "bench": "http",
                "python": platform.python_version(),
                "api": args.api,
                "turns": args.turns,
                "interval": args.interval,
                "rows": rows,
                "skipped": skipped,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
