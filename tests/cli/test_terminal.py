"""The interactive parts, driven through a real pseudo-terminal: the REPL, confirmations, progress."""

from __future__ import annotations

import re
import sys

import pexpect
import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pexpect needs a POSIX pseudo-terminal")

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def spawn(db, *args: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "threaddesk.cli", "--db", str(db), *args],
        encoding="utf-8",
        timeout=20,
        dimensions=(50, 200),
    )


def between_prompts(child: pexpect.spawn, line: str, prompt: str) -> str:
    """Send `line`, wait for `prompt`, return what was printed in between (no colours)."""
    child.sendline(line)
    child.expect_exact(prompt)
    return ANSI.sub("", child.before).replace("\r\n", "\n").split("\n", 1)[-1].strip()


def test_repl_switches_threads_and_each_keeps_its_memory(db, stored) -> None:
    child = spawn(db, "chat", "--user", "support", "--thread", "alice_session")
    child.expect_exact("alice_session> ")
    assert between_prompts(child, "Hi, I'm Alice.", "alice_session> ") == "Hello Alice! How can I help?"

    child.sendline("/new Bob's ticket")
    child.expect(r"New thread ([0-9a-f-]{36})\.")
    bob = child.match.group(1)
    child.expect_exact("Bob's ticket> ")  # the title, not the 36-character id
    assert between_prompts(child, "Hey, I'm Bob.", "Bob's ticket> ") == "Hi Bob! What can I do for you?"

    child.send("/switch ali\t")  # readline completes the user's thread id
    child.expect_exact("/switch alice_session")
    assert between_prompts(child, "", "alice_session> ") == "Switched to alice_session, 2 messages."
    assert between_prompts(child, "What's my name?", "alice_session> ") == "Your name is Alice!"
    assert between_prompts(child, "/history 2", "alice_session> ").splitlines() == [
        "you: What's my name?",
        "agent: Your name is Alice!",
    ]

    assert "Switched to" in between_prompts(child, f"/switch {bob}", "Bob's ticket> ")
    assert between_prompts(child, "Who am I?", "Bob's ticket> ") == "You're Bob!"
    history = between_prompts(child, "/history", "Bob's ticket> ")
    assert "you: Hey, I'm Bob." in history and "Alice" not in history
    assert between_prompts(child, "/rename Refund", "Refund> ") == "Renamed to 'Refund'."
    assert between_prompts(child, "/whoami", "Refund> ") == f"user support, thread {bob} (Refund), 4 messages"

    table = between_prompts(child, "/threads", "Refund> ").splitlines()
    assert table[0].split() == ["thread", "title", "msgs", "last", "active", "tags"]
    assert len(table) == 3
    assert (table[1].split()[:3], table[2].split()[:2]) == (["*", bob, "Refund"], ["alice_session", "4"])
    assert "error: thread 'carol_session' not found" in between_prompts(
        child, "/switch carol_session", "Refund> "
    )
    assert "unknown command /frob" in between_prompts(child, "/frob", "Refund> ")
    assert "/switch ID" in between_prompts(child, "/help", "Refund> ")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    threads = stored.threads()
    assert threads["alice_session"]["message_count"] == 4
    assert (threads[bob]["title"], threads[bob]["message_count"]) == ("Refund", 4)
    assert {row["user_id"] for row in threads.values()} == {"support"}


def test_repl_commands_refuse_what_they_do_not_take(db, stored) -> None:
    child = spawn(db, "chat", "--user", "support", "--new")
    child.expect(r"([0-9a-f]{8}-[0-9a-f-]{27})")
    thread_id = child.match.group(1)
    prompt = f"{thread_id[:8]}> "  # a short id: the whole UUID would crowd the line
    child.expect_exact(prompt)
    assert between_prompts(child, "Hi, I'm Dana.", prompt) == "Hello Dana! How can I help?"
    for line, usage in [
        ("/quit now", "usage: /quit (/quit takes no arguments)"),
        ("/threads extra", "usage: /threads (/threads takes no arguments)"),
        ("/whoami me", "usage: /whoami (/whoami takes no arguments)"),
        ("/history -1", "usage: /history [N], N a whole number of messages (0 or more), got '-1'"),
        ("/history ten", "usage: /history [N], N a whole number of messages (0 or more), got 'ten'"),
    ]:
        assert between_prompts(child, line, prompt) == f"error: {usage}", line
    assert between_prompts(child, "/history 1", prompt) == "agent: Hello Dana! How can I help?"
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0  # `/quit now` was refused, and did not end the session
    assert stored.threads()[thread_id]["message_count"] == 2


def test_repl_on_a_new_titled_thread_prompts_with_the_title(db, stored) -> None:
    child = spawn(db, "chat", "--user", "support", "--new", "--title", "A rather long title for a prompt")
    child.expect_exact("A rather long title for…> ")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert [row["title"] for row in stored.threads().values()] == ["A rather long title for a prompt"]


@pytest.mark.parametrize(("answer", "code", "kept"), [("n", 1, True), ("y", 0, False)])
def test_delete_asks_first_on_a_terminal(db, seed, stored, answer, code, kept) -> None:
    seed(("alice_session", "alice", 0, ["Hi, I'm Alice."]))
    child = spawn(db, "threads", "delete", "alice_session")
    child.expect_exact("Delete thread alice_session of alice (2 messages)? [y/N]: ")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == code
    assert ("alice_session" in stored.threads()) is kept
    assert stored.checkpoints("alice_session") == (1 if kept else 0)


def test_cleanup_of_many_threads_shows_progress_then_a_summary(db, seed, stored) -> None:
    seed(*[(f"old{i}", f"user{i % 3}", 40, []) for i in range(25)], ("fresh", "alice", 0, ["Hi"]))
    child = spawn(db, "threads", "cleanup", "--idle-for", "30d")
    child.expect(pexpect.EOF)
    child.close()
    output = ANSI.sub("", child.before)
    assert child.exitstatus == 0
    assert "Removing idle threads" in output
    assert output.strip().splitlines()[-1] == "Removed 25 threads of 3 users idle for more than 30d."
    assert list(stored.threads()) == ["fresh"]
