"""Per-user limits on the command line: exit code 7, one line on stderr, nothing stored."""

from __future__ import annotations

from threaddesk.cli.errors import ExitCode


def test_a_spent_message_budget_exits_7_after_storing_the_turns_it_allowed(run, stored, monkeypatch) -> None:
    monkeypatch.setenv("THREADDESK_MESSAGES_PER_MINUTE", "2")
    result = run("chat", "-t", "alice_session", input="Hi, I'm Alice\nOne\nTwo\n")
    assert result.exit_code == ExitCode.LIMIT_EXCEEDED == 7
    assert result.stderr.startswith("error: user 'alice' may send 2 messages a minute: retry in ")
    assert len(result.stdout.splitlines()) == 2
    assert stored.threads()["alice_session"]["message_count"] == 4


def test_the_thread_limit_exits_7_and_creates_nothing(run, stored, monkeypatch) -> None:
    monkeypatch.setenv("THREADDESK_MAX_THREADS_PER_USER", "1")
    assert run("chat", "-t", "first", input="Hello\n").exit_code == 0
    result = run("chat", "-t", "second", input="Hello\n")
    assert result.exit_code == 7
    assert "reached the limit of 1 threads" in result.stderr
    assert list(stored.threads()) == ["first"]
