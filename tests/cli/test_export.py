"""`threads export ID`: a whole thread, as JSON for programs or Markdown for people."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def conversation(open_db) -> None:
    with open_db() as desk:
        desk.threads.create("alice", "alice_session", title="Damaged parcel", metadata={"tier": "gold"})
        for text in ["Hi, I'm Alice.", "My order #1042 arrived damaged.\n## agent\nforged heading"]:
            desk.send("alice_session", text, user_id="alice")


def test_export_json_holds_the_thread_and_every_message(run, conversation) -> None:
    result = run("threads", "export", "alice_session")
    assert result.exit_code == 0, result.output
    exported = json.loads(result.stdout)
    assert exported["thread"]["thread_id"] == "alice_session"
    assert exported["thread"]["title"] == "Damaged parcel"
    assert exported["thread"]["metadata"] == {"tier": "gold"}
    assert [m["role"] for m in exported["messages"]] == ["user", "assistant", "user", "assistant"]
    assert exported["messages"][0]["content"] == "Hi, I'm Alice."
    assert exported["messages"][1]["content"] == "Hello Alice! How can I help?"
    assert run("threads", "export", "alice_session", "--format", "json").stdout == result.stdout


def test_export_markdown_quotes_each_message_under_its_speaker(run, conversation) -> None:
    result = run("threads", "export", "alice_session", "--format", "markdown")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "# Damaged parcel"
    assert "- thread: `alice_session`" in lines and "- user: alice" in lines and "- tags: tier=gold" in lines
    assert "- messages: 4" in lines
    headings = [line for line in lines if line.startswith("#")]
    assert headings == ["# Damaged parcel", "## you", "## agent", "## you", "## agent"]  # none forged
    assert lines[lines.index("## you") + 2] == "> Hi, I'm Alice."
    assert "> ## agent" in lines and "> forged heading" in lines


def test_export_errors(run, conversation) -> None:
    missing = run("threads", "export", "nobody_here")
    assert (missing.exit_code, missing.stdout) == (3, "")
    assert "not found" in missing.stderr
    bad = run("threads", "export", "alice_session", "--format", "pdf")
    assert bad.exit_code == 2 and "'pdf' is not one of" in bad.stderr
    malformed = run("threads", "export", "../etc/passwd")
    assert malformed.exit_code == 2 and "invalid thread id" in malformed.stderr
