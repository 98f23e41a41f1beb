"""Global options, settings, exit codes for storage and model failures, and `demo`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from threaddesk import ThreadDesk, __version__


def test_version(run) -> None:
    result = run("--version", use_db=False)
    assert (result.exit_code, result.stdout) == (0, f"threaddesk {__version__}\n")


def test_help_lists_every_command(run) -> None:
    result = run("--help", use_db=False)
    assert result.exit_code == 0
    for command in ("demo", "chat", "threads", "--db", "--model"):
        assert command in result.stdout


def test_unknown_command_is_a_usage_error(run) -> None:
    result = run("frobnicate")
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.stderr


def test_db_defaults_to_the_setting(run, tmp_path, monkeypatch) -> None:
    target = tmp_path / "from-env.sqlite"
    monkeypatch.setenv("THREADDESK_DATABASE_URL", str(target))
    assert run("chat", "-t", "t1", input="Hi\n", use_db=False).exit_code == 0
    assert target.exists()
    listed = run("threads", "list", "--json", use_db=False)
    assert '"thread_id": "t1"' in listed.stdout
    assert run("threads", "list", "--json").stdout == "[]\n"  # --db wins over the env


@pytest.mark.parametrize("where", ["directory", "under_a_file", "url"])
def test_unreachable_storage_exits_4(run, tmp_path, where) -> None:
    (tmp_path / "plain-file").write_text("not a directory")
    db = {
        "directory": str(tmp_path),
        "under_a_file": str(tmp_path / "plain-file" / "db.sqlite"),
        "url": "postgresql://127.0.0.1:1/nothing",
    }[where]
    for args in (["threads", "list"], ["chat", "-t", "x"]):
        result = run("--db", db, *args, input="Hi\n", use_db=False)
        assert result.exit_code == 4, result.output
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
        assert "Traceback" not in result.output
    assert (tmp_path / "plain-file").read_text() == "not a directory"


def test_unknown_model_exits_5_but_admin_commands_still_work(run, monkeypatch) -> None:
    result = run("--model", "nonsense", "chat", "-t", "x", input="Hi\n")
    assert result.exit_code == 5
    assert result.stderr == (
        "error: unknown model 'nonsense': use 'offline' or 'provider:model', e.g. openai:gpt-4o-mini\n"
    )
    monkeypatch.setenv("THREADDESK_MODEL", "nonsense")
    assert run("chat", "-t", "x", input="Hi\n").exit_code == 5
    listed = run("threads", "list", "--json")  # never calls the model, so works anyway
    assert (listed.exit_code, listed.stdout) == (0, "[]\n")
    assert run("--model", "offline", "chat", "-t", "x", input="Hi\n").exit_code == 0


def test_a_bad_setting_is_one_line_and_exit_2(run, monkeypatch) -> None:
    monkeypatch.setenv("THREADDESK_MAX_MESSAGE_BYTES", "lots")
    result = run("threads", "list")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid setting THREADDESK_MAX_MESSAGE_BYTES: ")
    assert result.stderr.count("\n") == 1


def test_demo_still_runs(run) -> None:
    result = run("demo", use_db=False)
    assert result.exit_code == 0
    assert "[OK] Thread switching preserves context!" in result.stdout


def test_python_dash_m_runs_the_cli(db) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "threaddesk.cli", "--db", str(db), "chat", "-u", "zoe", "-t", "z1"],
        input="Hi, I'm Zoe.\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "Hello Zoe! How can I help?\n", "")


def test_a_provider_that_fails_mid_turn_exits_5_without_traceback(run, monkeypatch, db) -> None:
    import socket

    with socket.socket() as sock:  # a loopback port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("THREADDESK_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("THREADDESK_API_KEY", "test")
    monkeypatch.setenv("THREADDESK_MODEL_TIMEOUT_S", "2")
    result = run("--model", "openai:gpt-4o-mini", "chat", "--thread", "t1", input="Hi, I'm Alice.\n")
    assert result.exit_code == 5, result.output
    assert "the chat model failed" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    with ThreadDesk.open(database_url=str(db)) as desk:
        assert desk.history("t1") == []  # the failed turn left nothing behind


def test_demo_honours_the_global_db_and_model(run, stored) -> None:
    result = run("demo")  # `run` puts the global --db first
    assert result.exit_code == 0, result.output
    assert {"alice_session", "bob_session", "carol_session"} <= set(stored.threads())
    assert stored.threads()["alice_session"]["message_count"] == 6

    wrong_model = run("--model", "nonsense", "demo", use_db=False)
    assert wrong_model.exit_code == 5
    assert "unknown model 'nonsense'" in wrong_model.stderr


def test_demo_db_option_after_the_command_still_works(run, tmp_path) -> None:
    target = tmp_path / "demo.sqlite"
    assert run("demo", "--db", str(target), use_db=False).exit_code == 0
    assert target.exists()


@pytest.mark.parametrize("slashes", ["///", "////"])
def test_users_add_prints_the_resolved_database_path(run, tmp_path, monkeypatch, slashes) -> None:
    """SQLAlchemy's convention: three slashes a path relative to here, four an absolute one."""
    monkeypatch.chdir(tmp_path)
    path = "data/desk.sqlite" if slashes == "///" else str(tmp_path / "abs" / "desk.sqlite").lstrip("/")
    expected = tmp_path / ("data" if slashes == "///" else "abs") / "desk.sqlite"
    url = f"sqlite:{slashes}{path}"
    first = run("--db", url, "users", "add", "carol", use_db=False)
    assert first.exit_code == 0, first.output
    assert first.stderr.splitlines()[0] == f"Database: {expected} (new)"
    assert expected.exists()
    second = run("--db", url, "users", "add", "dave", use_db=False)
    assert second.stderr.splitlines()[0] == f"Database: {expected}"


def test_serve_prints_the_resolved_database_path(tmp_path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "threaddesk.cli",
            "--db",
            "sqlite:///here.sqlite",
            "serve",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        first_line = server.stdout.readline()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert first_line == f"Database: {tmp_path / 'here.sqlite'} (new)\n"
