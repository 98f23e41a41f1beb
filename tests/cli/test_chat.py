"""`threaddesk chat` with stdin piped: one line, one turn, only the replies printed."""

from __future__ import annotations

import re

import pytest

from threaddesk.agent import graph
from threaddesk.cli.errors import ExitCode


def test_piped_line_gets_only_the_reply_on_a_new_named_thread(run, stored) -> None:
    result = run("chat", "--thread", "alice_session", input="Hi, I'm Alice\n")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "Hello Alice! How can I help?\n", "")
    row = stored.threads()["alice_session"]
    assert (row["user_id"], row["message_count"]) == ("alice", 2)  # THREADDESK_USER=alice
    assert stored.checkpoints("alice_session") == 1


def test_each_line_is_a_turn_and_memory_outlives_the_process(run, stored) -> None:
    first = run("chat", "-t", "alice_session", input="Hi, I'm Alice.\n\n   \nWhat's my name?\n")
    assert first.stdout.splitlines() == ["Hello Alice! How can I help?", "Your name is Alice!"]
    again = run("chat", "-t", "alice_session", input="Do you know who I am?\n")
    assert again.stdout == "Yes, you're Alice!\n"
    assert stored.threads()["alice_session"]["message_count"] == 6


def test_threads_do_not_share_memory(run) -> None:
    run("chat", "-t", "alice_session", input="Hi, I'm Alice.\n")
    bob = run("chat", "--user", "bob", "-t", "bob_session", input="What's my name?\n")
    assert bob.exit_code == 0
    assert "Alice" not in bob.stdout


def test_without_thread_resumes_the_latest_and_new_starts_one(run, stored) -> None:
    started = run("chat", input="Hi, I'm Alice.\n")  # no thread yet: one is started
    assert started.stdout == "Hello Alice! How can I help?\n"
    first_id = re.fullmatch(r"thread (\S+)\n", started.stderr).group(1)

    resumed = run("chat", input="What's my name?\n")
    assert (resumed.stdout, resumed.stderr) == ("Your name is Alice!\n", "")

    fresh = run("chat", "--new", input="What's my name?\n")
    assert "Alice" not in fresh.stdout
    second_id = re.fullmatch(r"thread (\S+)\n", fresh.stderr).group(1)
    threads = stored.threads()
    assert set(threads) == {first_id, second_id}
    assert threads[first_id]["message_count"] == 4 and threads[second_id]["message_count"] == 2
    assert {row["user_id"] for row in threads.values()} == {"alice"}


def test_user_comes_from_option_env_or_login(run, stored, monkeypatch) -> None:
    run("chat", "--user", "carol", "-t", "c1", input="Hi\n")
    monkeypatch.setenv("THREADDESK_USER", "dave")
    run("chat", "-t", "d1", input="Hi\n")
    monkeypatch.delenv("THREADDESK_USER")
    monkeypatch.setattr("getpass.getuser", lambda: "erin")
    run("chat", "-t", "e1", input="Hi\n")
    owners = {thread_id: row["user_id"] for thread_id, row in stored.threads().items()}
    assert owners == {"c1": "carol", "d1": "dave", "e1": "erin"}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--thread", "x", "--new"], 2, "error: --thread and --new cannot be used together"),
        (["--thread", "bad id!"], 2, "error: invalid thread id 'bad id!'"),
        (["--thread", "a" * 129], 2, "longer than 128 characters"),
        (["--user", "  ", "--thread", "x"], 2, "error: invalid user id '  '"),
        (["--user", "mallory", "--thread", "alice_session"], 6, "belongs to another user"),
    ],
)
def test_chat_errors(run, stored, args, code, message) -> None:
    run("chat", "-t", "alice_session", input="Hi, I'm Alice.\n")
    before = stored.threads()
    result = run("chat", *args, input="Hi, I'm Mallory.\n")
    assert result.exit_code == code
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert message in result.stderr
    assert (result.stdout, stored.threads()) == ("", before)


def test_a_bad_message_stops_with_code_2_and_leaves_no_half_turn(run, stored, monkeypatch) -> None:
    monkeypatch.setenv("THREADDESK_MAX_MESSAGE_BYTES", "40")
    result = run("chat", "-t", "alice_session", input="Hi, I'm Alice.\n" + "x" * 41 + "\nWho am I?\n")
    assert result.exit_code == 2
    assert result.stdout == "Hello Alice! How can I help?\n"
    assert result.stderr == "error: message of 41 bytes exceeds the limit of 40 bytes\n"
    assert stored.threads()["alice_session"]["message_count"] == 2
    history = run("threads", "history", "alice_session").stdout
    assert "x" * 41 not in history and "Who am I" not in history


@pytest.mark.parametrize(
    ("stdin", "code", "message"),
    [
        ("x" * 40000 + "\n", 2, "exceeds the limit"),
        ("hello\x00world\n", 2, "NUL"),
        ("\n   \n\t\n", 0, ""),
    ],
    ids=["too large", "NUL byte", "only blank lines"],
)
@pytest.mark.parametrize("target", [["--thread", "NEW"], ["--new"], ["--new", "--title", "Refunds"], []])
def test_refused_or_blank_input_creates_no_thread(run, stored, stdin, code, message, target) -> None:
    result = run("chat", *target, input=stdin)
    assert result.exit_code == code, result.output
    assert message in result.stderr and "thread " not in result.stderr  # no id of a thread that is not
    assert stored.threads() == {}


def test_new_with_a_title(run, stored) -> None:
    result = run("chat", "--new", "--title", "Parcel never arrived", input="Hi, I'm Alice.\nWho am I?\n")
    assert result.exit_code == 0, result.output
    thread_id = re.fullmatch(r"thread (\S+)\n", result.stderr).group(1)
    row = stored.threads()[thread_id]
    assert (row["title"], row["user_id"], row["message_count"]) == ("Parcel never arrived", "alice", 4)

    no_new = run("chat", "--thread", "t1", "--title", "x", input="Hi\n")
    assert no_new.exit_code == 2 and "use it with --new" in no_new.stderr
    assert list(stored.threads()) == [thread_id]


@pytest.mark.parametrize("user", ["bad user!", "", "al/ice", "-rf"])
def test_user_ids_are_validated_like_thread_ids(run, db, user) -> None:
    result = run("chat", f"--user={user}", "--thread", "t1", input="Hi\n")
    assert result.exit_code == 2
    assert f"error: invalid user id {user!r}" in result.stderr
    assert not db.exists()  # refused before the database is even opened


def test_an_empty_user_setting_is_an_error_not_the_login_name(run, db, monkeypatch) -> None:
    monkeypatch.setenv("THREADDESK_USER", "")
    monkeypatch.setattr("getpass.getuser", lambda: "erin")
    result = run("chat", "--thread", "t1", input="Hi\n")
    assert result.exit_code == 2 and "invalid user id ''" in result.stderr
    assert not db.exists()


def test_an_unexpected_error_has_its_own_exit_code(run, stored, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(graph, "recent_context", broken)
    result = run("chat", "--thread", "alice_session", input="Hi, I'm Alice\n")
    assert result.exit_code == ExitCode.INTERNAL_ERROR == 8
    assert result.stderr.startswith("error: the turn failed unexpectedly (KeyError)")
    assert stored.threads()["alice_session"]["message_count"] == 0
