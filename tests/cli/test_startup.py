"""What every invocation pays for: `--help` loads no LangChain, and shell completion works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Loading these costs most of a second; a command that only prints help must not.
HEAVY = ("langchain_core", "langgraph", "langchain", "fastapi", "uvicorn", "pydantic_settings", "psycopg")

PROBE = """
import sys
from threaddesk.cli import main
sys.argv = ["threaddesk", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))
print("exit", code, "heavy", ",".join(heavy) or "none")
"""


def _probe(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROBE}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stderr == "", done.stderr
    return done.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    "args",
    [["--help"], ["threads", "--help"], ["threads", "list", "--help"], ["chat", "--help"], ["--version"]],
)
def test_help_loads_no_langchain_langgraph_or_web_stack(args) -> None:
    assert _probe(*args) == "exit 0 heavy none"


def test_a_real_command_still_loads_what_it_needs(tmp_path) -> None:
    assert "langgraph" in _probe("--db", str(tmp_path / "x.sqlite"), "threads", "list")


def _completions(words: str, tmp_path: Path) -> list[str]:
    """What bash completion offers for the command line `words` (the last word being completed)."""
    env = {
        **os.environ,
        "_THREADDESK_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        "THREADDESK_DATABASE_URL": str(tmp_path / "none.sqlite"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "threaddesk.cli"], env=env, capture_output=True, text=True, timeout=60
    )
    return done.stdout.split()


def test_shell_completion_completes_commands_and_options(tmp_path) -> None:
    assert _completions("threaddesk thr", tmp_path) == ["threads"]
    assert "export" in _completions("threaddesk threads ", tmp_path)
    assert _completions("threaddesk threads list --sta", tmp_path) == ["--status"]
    assert _completions("threaddesk threads list --status ", tmp_path) == [
        "idle",
        "busy",
        "error",
        "interrupted",
    ]
    assert _completions("threaddesk threads export x --format m", tmp_path) == ["markdown"]


def test_install_completion_writes_the_bash_script(tmp_path) -> None:
    # Typer's own switch: the shell is the option's value, not guessed from the parent processes
    # (which fails where the test runner's parent is no shell).
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "SHELL": "/bin/bash",
        "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "threaddesk.cli", "--install-completion", "bash"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "bash completion installed" in done.stdout
    script = tmp_path / ".bash_completions" / "threaddesk.sh"
    assert "_THREADDESK_COMPLETE=complete_bash" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()
