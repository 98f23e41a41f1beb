"""LangGraph's own server (`langgraph dev`) over the same support graph, as the reference to compare with.

The graph folder is generated at test time into a temporary directory: the
agent's modules are copied from `threaddesk.agent` with their imports rewritten,
so the peer builds the very graph threaddesk serves, on the same offline model,
without importing threaddesk (it runs in the environment of `langgraph-cli`,
which may be another virtualenv: see `find_langgraph_cli`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

import threaddesk.agent
from threaddesk import errors
from threaddesk.config import DEFAULT_SYSTEM_PROMPT

# The graph and the offline model with every module they read; `models.py` (providers) is not needed.
AGENT_MODULES = (
    "graph.py",
    "handoff.py",
    "offline.py",
    "actions.py",
    "orders.py",
    "tools.py",
    "profile.py",
    "reading.py",
    "names.py",
    "lexicon.py",
    "sentences.py",
    "memory.py",
    "run_settings.py",
)
REPO = Path(__file__).resolve().parents[2]
# Read at import: the autouse settings fixture clears THREADDESK_* before each test runs.
CLI_FROM_ENV = os.environ.get("THREADDESK_LANGGRAPH_CLI")
GRAPH_FILE = """\
from peer_agent.graph import build_agent
from peer_agent.offline import OfflineChatModel
from peer_agent.orders import DEMO_ORDERS, MemoryOrderBook
from peer_agent.tools import support_tools

graph = build_agent(OfflineChatModel(), None, tools=support_tools(MemoryOrderBook(DEMO_ORDERS)))
"""


@dataclass(frozen=True)
class Peer:
    url: str
    log: Path


def find_langgraph_cli() -> tuple[Path | None, str]:
    """The `langgraph` executable of an environment with `langgraph-cli[inmem]`, or why there is none.

    Looked for in `$THREADDESK_LANGGRAPH_CLI`, then `.venv-langgraph/` (where `.ci/run` installs it:
    `langgraph-api` pins a jsonschema-rs that the dev extra's schemathesis cannot use), then PATH.
    """
    candidates = [
        CLI_FROM_ENV,
        str(REPO / ".venv-langgraph" / "bin" / "langgraph"),
        shutil.which("langgraph"),
    ]
    for candidate in filter(None, candidates):
        path = Path(candidate)
        if not path.is_file():
            continue
        python = path.parent / "python"
        probe = subprocess.run(
            [str(python), "-c", "import langgraph_api, langgraph_runtime_inmem"], capture_output=True
        )
        if probe.returncode == 0:
            return path, ""
    return None, (
        "langgraph-cli[inmem] is not installed: python3.11 -m venv .venv-langgraph && "
        ".venv-langgraph/bin/pip install -r tests/conformance/requirements.txt"
    )


def write_graph_folder(folder: Path) -> Path:
    """`langgraph.json`, the graph file and a copy of the agent package (`peer_agent`) in `folder`."""
    package = folder / "peer_agent"
    package.mkdir(parents=True)
    source = Path(threaddesk.agent.__file__).parent
    for name, path in [
        *((name, source / name) for name in AGENT_MODULES),
        ("errors.py", Path(errors.__file__)),
    ]:
        text = path.read_text()
        text = text.replace("from threaddesk.agent.", "from peer_agent.")
        text = text.replace("from threaddesk.config import", "from peer_agent.config import")
        text = text.replace("from threaddesk.errors import", "from peer_agent.errors import")
        if re.search(r"^\s*(?:from|import) threaddesk", text, re.MULTILINE):
            raise RuntimeError(f"{name} imports threaddesk beyond what peer.py rewrites")
        (package / name).write_text(text)
    (package / "__init__.py").write_text("")
    (package / "config.py").write_text(f"DEFAULT_SYSTEM_PROMPT = {DEFAULT_SYSTEM_PROMPT!r}\n")
    (folder / "support_graph.py").write_text(GRAPH_FILE)
    config = {"dependencies": ["."], "graphs": {"support_agent": "./support_graph.py:graph"}}
    (folder / "langgraph.json").write_text(json.dumps(config))
    return folder


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peer_env(folder: Path) -> dict[str, str]:
    """The environment a LangGraph server process gets: no tracing, no analytics, no key, the graph
    folder importable, and not this test run's virtualenv (the server has its own)."""
    env = {
        **os.environ,
        "LANGSMITH_TRACING": "false",
        "LANGCHAIN_TRACING_V2": "false",
        "LANGGRAPH_NO_ANALYTICS": "1",
        "LANGSMITH_API_KEY": "",
        "PYTHONPATH": str(folder),
    }
    env.pop("VIRTUAL_ENV", None)
    return env


@contextmanager
def serve_peer(cli: Path, folder: Path, log: Path, timeout: float = 90) -> Iterator[Peer]:
    """`langgraph dev` on a free port of 127.0.0.1 until the block ends; its output goes to `log`."""
    port = _free_port()
    env = peer_env(folder)
    command = [str(cli), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"langgraph dev exited with {process.returncode}: see {log}")
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"langgraph dev did not answer within {timeout}s: see {log}")
            time.sleep(0.2)
        yield Peer(url, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":  # python tests/conformance/langgraph_dev.py DIR: serve the peer by hand
    cli, why = find_langgraph_cli()
    if cli is None:
        sys.exit(why)
    target = Path(sys.argv[1])
    with serve_peer(cli, write_graph_folder(target / "graph"), target / "peer.log") as peer:
        print(peer.url, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
