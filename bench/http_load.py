"""Bench 4: N concurrent HTTP clients against `threaddesk serve`, and against plain LangGraph.

(Not `bench/http.py`: a script there would shadow the standard library's `http` package.)

Each contender is a real server process on a free loopback port:
`threaddesk serve` (SQLite file, offline model, a bearer token of a user made
for the run) and `bench/_plain_http.py` (the LangGraph tutorial agent with
`AsyncSqliteSaver` behind one FastAPI route, no auth). N clients
(httpx.AsyncClient) each own one thread and send `--turns` messages one after
another with POST /threads/{id}/messages; the N clients run concurrently.
Latency is one request's round trip. Each thread's last reply must name its
own customer, or the script fails.

    python bench/http_load.py                       # N = 10, 100
    python bench/http_load.py --clients 100 --turns 8 --interval 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _contenders import expected_last, percentile, script  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CONTENDERS = ("td-serve", "lg-fastapi")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def make_token(db: Path) -> str:
    """A non-admin user for the run, made through the users store (its threads are its own)."""
    from threaddesk import open_desk
    from threaddesk.agent import OfflineChatModel
    from threaddesk.config import Settings

    async with open_desk(Settings(database_url=str(db)), model=OfflineChatModel()) as desk:
        _, token = await desk.users.add("bench")
        return token


def start_server(name: str, workdir: Path, port: int) -> tuple[subprocess.Popen, dict[str, str]]:
    db = workdir / f"{name}.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("THREADDESK_")}
    if name == "td-serve":
        token = asyncio.run(make_token(db))
        env.update(THREADDESK_DATABASE_URL=str(db), THREADDESK_MODEL="offline")
        cmd = [str(Path(sys.executable).with_name("threaddesk")), "serve", "--port", str(port)]
        headers = {"Authorization": f"Bearer {token}"}
    else:
        cmd = [
            sys.executable,
            str(Path(__file__).parent / "_plain_http.py"),
            "--db",
            str(db),
            "--port",
            str(port),
        ]
        headers = {}
    log = open(workdir / f"{name}.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, headers


async def wait_ready(base: str, proc: subprocess.Popen) -> None:
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(300):
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}")
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("server did not start within 30 s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_load(
    name: str, base: str, headers: dict, server_pid: int, clients: int, turns: int, interval: float, tag: str
) -> dict:
    """N clients, each with its own connection and thread, sending `turns` messages.

    `interval` 0: back to back (closed loop: the server's saturation throughput;
    latency is then N / throughput by Little's law). `interval` > 0: each client
    sends one message every `interval` seconds (starts staggered), like people
    chatting: latency is the service time with N clients connected.
    """
    ids = [f"{tag}-c{i}" for i in range(clients)]
    https = [httpx.AsyncClient(base_url=base, headers=headers, timeout=120) for _ in range(clients)]
    try:
        # Open every connection (and, for threaddesk, create every thread) before measuring.
        if name == "td-serve":
            creates = (h.post("/threads", json={"thread_id": t}) for h, t in zip(https, ids, strict=True))
            await asyncio.gather(*creates)
        else:
            await asyncio.gather(*(h.get("/healthz") for h in https))
        warm = f"{tag}-warmup"
        if name == "td-serve":
            await https[0].post("/threads", json={"thread_id": warm})
        for text in script(clients, 2):
            (await https[0].post(f"/threads/{warm}/messages", json={"content": text})).raise_for_status()
        latencies: list[float] = []
        last = [""] * clients

        async def client(i: int, start: float) -> None:
            for k, text in enumerate(script(i, turns)):
                if interval:
                    await asyncio.sleep(max(0.0, start + (i / clients + k) * interval - time.perf_counter()))
                t0 = time.perf_counter()
                response = await https[i].post(f"/threads/{ids[i]}/messages", json={"content": text})
                latencies.append(time.perf_counter() - t0)
                response.raise_for_status()
                last[i] = response.json()["message"]["content"]

        server_cpu, client_cpu = cpu_seconds(server_pid), time.process_time()
        start = time.perf_counter()
        await asyncio.gather(*(client(i, start) for i in range(clients)))
        elapsed = time.perf_counter() - start
        server_cpu, client_cpu = cpu_seconds(server_pid) - server_cpu, time.process_time() - client_cpu
    finally:
        await asyncio.gather(*(h.aclose() for h in https))
    wrong = [i for i in range(clients) if last[i] != expected_last(i)]
    if wrong:
        raise SystemExit(f"{name}: isolation check failed on {len(wrong)} threads, e.g. {last[wrong[0]]!r}")
    return {
        "contender": name,
        "load": f"every {interval:g}s" if interval else "closed",
        "clients": clients,
        "turns": turns,
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000,
        "server_cpu_ms_per_req": server_cpu / len(latencies) * 1000,
        "client_cpu_ms_per_req": client_cpu / len(latencies) * 1000,
    }


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
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    args = parser.parse_args()
    counts = [int(n) for n in args.clients.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="threaddesk-http-") as tmp:
        for name in args.contenders.split(","):
            if name not in CONTENDERS:
                raise SystemExit(f"unknown contender {name!r}; choose from {', '.join(CONTENDERS)}")
            port = free_port()
            proc, headers = start_server(name, Path(tmp), port)
            try:
                base = f"http://127.0.0.1:{port}"
                asyncio.run(wait_ready(base, proc))
                for n in counts:
                    for interval in (0.0, args.interval) if args.interval else (0.0,):
                        tag = f"n{n}-{'paced' if interval else 'closed'}"
                        rows.append(
                            asyncio.run(run_load(name, base, headers, proc.pid, n, args.turns, interval, tag))
                        )
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    by_key = {(r["clients"], r["load"], r["contender"]): r for r in rows}
    head = (
        f"{'N':>4} {'load':<11} {'contender':<11} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'max ms':>7} {'srv CPU ms/req':>14} {'td p99 ÷ this':>13}"
    )
    print(head)
    print("-" * len(head))
    order = {c: k for k, c in enumerate(CONTENDERS)}
    for r in sorted(rows, key=lambda r: (r["clients"], r["load"], order[r["contender"]])):
        ours = by_key.get((r["clients"], r["load"], "td-serve"))
        ratio = "" if ours is None or r is ours else f"{ours['p99_ms'] / r['p99_ms']:.2f}x"
        print(
            f"{r['clients']:>4} {r['load']:<11} {r['contender']:<11} {r['rps']:>6.0f} {r['p50_ms']:>7.1f}"
            f" {r['p99_ms']:>7.1f} {r['max_ms']:>7.1f} {r['server_cpu_ms_per_req']:>14.1f} {ratio:>13}"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"http-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {
                "bench": "http",
                "python": platform.python_version(),
                "turns": args.turns,
                "interval": args.interval,
                "rows": rows,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
