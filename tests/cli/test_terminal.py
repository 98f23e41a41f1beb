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
    child.expect_exact(f"{bob}> ")
    assert between_prompts(child, "Hey, I'm Bob.", f"{bob}> ") == "Hi Bob! What can I do for you?"

    child.send("/switch ali\t")  # readline completes the user's thread id
    child.expect_exact("/switch alice_session")
    assert between_prompts(child, "", "alice_session> ") == "Switched to alice_session, 2 messages."
    assert between_prompts(child, "What's my name?", "alice_session> ") == "Your name is Alice!"
    assert between_prompts(child, "/history 2", "alice_session> ").splitlines() == [
        "you: What's my name?",
        "agent: Your name is Alice!",
    ]

    assert "Switched to" in between_prompts(child, f"/switch {bob}", f"{bob}> ")
    assert between_prompts(child, "Who am I?", f"{bob}> ") == "You're Bob!"
    history = between_prompts(child, "/history", f"{bob}> ")
    assert "you: Hey, I'm Bob." in history and "Alice" not in history
    assert between_prompts(child, "/rename Refund", f"{bob}> ") == "Renamed to 'Refund'."
    assert between_prompts(child, "/whoami", f"{bob}> ") == f"user support, thread {bob} (Refund), 4 messages"

    table = between_prompts(child, "/threads", f"{bob}> ").splitlines()
    assert table[0].split() == ["thread", "title", "msgs", "last", "active", "tags"]
    assert len(table) == 3
    assert (table[1].split()[:3], table[2].split()[:2]) == (["*", bob, "Refund"], ["alice_session", "4"])
    assert "error: thread 'carol_session' not found" in between_prompts(
        child, "/switch carol_session", f"{bob}> "
    )
    assert "unknown command /frob" in between_prompts(child, "/frob", f"{bob}> ")
    assert "/switch ID" in between_prompts(child, "/help", f"{bob}> ")
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    threads = stored.threads()
    assert threads["alice_session"]["message_count"] == 4
    assert (threads[bob]["title"], threads[bob]["message_count"]) == ("Refund", 4)
    assert {row["user_id"] for row in threads.values()} == {"support"}


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
