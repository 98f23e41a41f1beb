"""`serve --config` stops at start on a graph it cannot serve (exit 2, one line); `chat --graph`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from threaddesk.cli import app

SAMPLES = Path(__file__).parent / "samples"


def _config(tmp_path: Path, graphs: dict[str, str], **more: object) -> Path:
    """A langgraph.json beside copies of the sample graphs."""
    for sample in SAMPLES.glob("*.py"):
        (tmp_path / sample.name).write_text(sample.read_text())
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps({"graphs": graphs, **more}))
    return path


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("./broken.py:graph", "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'"),
        ("./counter.py:own_checkpointer", "compiled with its own checkpointer (InMemorySaver)"),
        ("./missing.py:graph", "FileNotFoundError"),
        ("./counter.py:make_failing", "RuntimeError: the factory could not build its graph"),
    ],
)
def test_serve_refuses_a_graph_it_cannot_serve(tmp_path: Path, target: str, expected: str) -> None:
    config = _config(tmp_path, {"good": "./echo.py:graph", "bad": target})
    command = [sys.executable, "-m", "threaddesk.cli", "--db", str(tmp_path / "d.sqlite"), "serve"]
    done = subprocess.run(
        [*command, "--config", str(config), "--port", "0"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stdout + done.stderr
    [line] = done.stderr.strip().splitlines()  # one line, no traceback
    file = target[2:].partition(":")[0]
    assert line.startswith(f"error: graph 'bad' ({tmp_path / file}:")
    assert expected in line


def test_a_refused_config_section_is_exit_2(tmp_path: Path) -> None:
    config = _config(tmp_path, {"echo": "./echo.py:graph"}, checkpointer={"ttl": {"default_ttl": 5}})
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "d.sqlite"), "serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "`checkpointer` is not supported" in result.output


def test_chat_talks_to_the_graph_named(tmp_path: Path) -> None:
    config = _config(tmp_path, {"counter": "./counter.py:graph", "echo": "./echo.py:graph"})
    runner = CliRunner()
    db = ["--db", str(tmp_path / "d.sqlite")]
    chat = [*db, "--config", str(config), "chat", "--user", "alice", "--thread", "t1"]
    result = runner.invoke(app, [*chat, "--graph", "echo"], input="hello\nagain\n")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["echo: hello", "echo: again"]
    # The thread remembers its graph: no --graph needed to come back to it.
    result = runner.invoke(app, chat, input="back\n")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["echo: back"]
    # chat with a graph that has no conversation, or none at all, is refused up front.
    result = runner.invoke(app, [*chat, "--graph", "counter"], input="hi\n")
    assert result.exit_code == 2 and "graph 'counter' has no messages channel" in result.output
    result = runner.invoke(app, [*chat, "--graph", "nope"], input="hi\n")
    assert result.exit_code == 2 and "graph 'nope' not found: this desk serves counter, echo" in result.output
