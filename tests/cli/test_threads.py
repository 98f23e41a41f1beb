"""`threaddesk threads ...`: every command and error path, then the database rows."""

from __future__ import annotations

import json
import random

import pytest


@pytest.fixture
def seeded(seed) -> None:
    seed(
        ("alice_session", "alice", 0, ["Hi, I'm Alice.", "My order #1042 arrived damaged."]),
        ("bob_session", "bob", 0, ["Hey, I'm Bob."]),
        ("old_alice", "alice", 40, ["Hi, I'm Alice."]),
        ("old_carol", "carol", 31, ["Hello, this is Carol."]),
        ("empty_one", "dave", 0, []),
    )


def test_list_shows_every_thread_newest_first(run, seeded) -> None:
    result = run("threads", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["thread", "user", "title"]
    ids = [line.split()[0] for line in lines[1:]]
    assert ids[-2:] == ["old_carol", "old_alice"]
    assert set(ids) == {"alice_session", "bob_session", "old_alice", "old_carol", "empty_one"}


def test_list_filters_by_user_and_idleness(run, seeded) -> None:
    mine = run("threads", "list", "--user", "alice", "--json")
    assert mine.exit_code == 0
    assert [t["thread_id"] for t in json.loads(mine.stdout)] == ["alice_session", "old_alice"]

    idle = json.loads(run("threads", "list", "--idle-for", "30d", "--json").stdout)
    assert [t["thread_id"] for t in idle] == ["old_carol", "old_alice"]
    assert idle[0]["user_id"] == "carol" and idle[0]["message_count"] == 2

    assert json.loads(run("threads", "list", "--idle-for", "35d", "--json").stdout)[0]["thread_id"] == (
        "old_alice"
    )


def test_list_pages_and_empty(run, seeded) -> None:
    first = run("threads", "list", "--limit", "2")
    assert first.exit_code == 0
    assert "More threads: rerun with --cursor " in first.stderr
    assert len(first.stdout.splitlines()) == 1 + 2

    nobody = run("threads", "list", "--user", "zoe")
    assert (nobody.exit_code, nobody.stdout) == (0, "No threads.\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--idle-for", "7x"], "invalid duration '7x'"),
        (["--idle-for", "0d"], "invalid duration '0d'"),
        (["--limit", "0"], "limit must be an integer from 1 to 1000"),
    ],
)
def test_list_rejects_bad_options(run, seeded, args, message) -> None:
    result = run("threads", "list", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_show(run, seeded) -> None:
    result = run("threads", "show", "alice_session")
    assert result.exit_code == 0
    fields = {line[:12].strip(): line[12:] for line in result.stdout.splitlines()}
    assert fields["thread"] == "alice_session"
    assert fields["last active"].endswith("s ago)")
    assert fields["user"] == "alice"
    assert fields["messages"] == "4"
    as_json = json.loads(run("threads", "show", "bob_session", "--json").stdout)
    assert (as_json["thread_id"], as_json["user_id"], as_json["message_count"]) == ("bob_session", "bob", 2)


def test_history_prints_that_thread_only(run, seeded) -> None:
    result = run("threads", "history", "alice_session")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "you: Hi, I'm Alice.",
        "agent: Hello Alice! How can I help?",
        "you: My order #1042 arrived damaged.",
        result.stdout.splitlines()[3],
    ]
    assert result.stdout.splitlines()[3].startswith("agent: ")
    assert "Bob" not in result.stdout

    last = json.loads(run("threads", "history", "bob_session", "--json", "--last", "1").stdout)
    assert [(m["role"], m["content"]) for m in last] == [("assistant", "Hi Bob! What can I do for you?")]
    assert run("threads", "history", "empty_one").stdout == "No messages yet.\n"


def test_rename_stores_the_title(run, seeded, stored) -> None:
    result = run("threads", "rename", "bob_session", "Refund for Bob")
    assert result.exit_code == 0
    assert result.stdout == "Renamed bob_session to 'Refund for Bob'.\n"
    assert stored.threads()["bob_session"]["title"] == "Refund for Bob"


def test_tag_sets_and_removes_metadata(run, seeded, stored) -> None:
    result = run("threads", "tag", "alice_session", "tier=gold", "topic=refund")
    assert (result.exit_code, result.stdout) == (0, "Tags of alice_session: tier=gold topic=refund\n")
    assert run("threads", "tag", "alice_session", "tier=", "lang=en").exit_code == 0
    assert stored.threads()["alice_session"]["metadata"] == {"topic": "refund", "lang": "en"}
    assert "lang=en topic=refund" in run("threads", "show", "alice_session").stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["show", "nobody"], 3, "error: thread 'nobody' not found"),
        (["history", "nobody"], 3, "error: thread 'nobody' not found"),
        (["rename", "nobody", "x"], 3, "error: thread 'nobody' not found"),
        (["tag", "nobody", "a=b"], 3, "error: thread 'nobody' not found"),
        (["delete", "nobody", "--yes"], 3, "error: thread 'nobody' not found"),
        (["show", "bad id"], 2, "error: invalid thread id 'bad id'"),
        (["history", "../etc"], 2, "error: invalid thread id '../etc'"),
        (["delete", "-x", "--yes"], 2, "No such option"),
        (["rename", "alice_session", "  "], 2, "error: the title must not be empty"),
        (["rename", "alice_session", "t" * 201], 2, "error: title must be a string of at most 200"),
        (["tag", "alice_session", "tier"], 2, "error: invalid tag 'tier': use key=value"),
        (["tag", "alice_session", "a=b", "=x"], 2, "error: invalid tag '=x'"),
        (["tag", "alice_session"], 2, "Missing argument"),
        (["history", "alice_session", "--last", "-1"], 2, "Invalid value for '--last'"),
        (
            ["delete", "alice_session"],
            2,
            "error: not deleting alice_session without confirmation: pass --yes",
        ),
    ],
)
def test_errors_exit_with_their_code_and_change_nothing(run, seeded, stored, args, code, message) -> None:
    before = stored.threads()
    checkpoints_before = stored.checkpoints("alice_session")
    assert checkpoints_before >= 1
    result = run("threads", *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output
    if message.startswith("error:"):
        assert result.stderr.count("\n") == 1
    assert stored.threads() == before
    assert stored.checkpoints("alice_session") == checkpoints_before


def test_delete_yes_removes_the_row_and_its_checkpoints(run, seeded, stored) -> None:
    assert stored.checkpoints("alice_session") == 1
    result = run("threads", "delete", "alice_session", "--yes")
    assert (result.exit_code, result.stdout) == (0, "Deleted alice_session.\n")
    assert "alice_session" not in stored.threads()
    assert stored.checkpoints("alice_session") == 0
    assert stored.checkpoints("bob_session") == 1
    assert run("threads", "show", "alice_session").exit_code == 3


def test_cleanup_dry_run_removes_nothing(run, seeded, stored) -> None:
    before = stored.threads()
    result = run("threads", "cleanup", "--idle-for", "30d", "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "Would remove 2 threads idle for more than 30d (dry run)."
    assert {line.split()[0] for line in result.stdout.splitlines()[1:-1]} == {"old_alice", "old_carol"}
    assert stored.threads() == before
    assert stored.checkpoints("old_alice") == 1 and stored.checkpoints("old_carol") == 1


def test_cleanup_removes_idle_threads_and_their_checkpoints(run, seeded, stored) -> None:
    result = run("threads", "cleanup", "--idle-for", "720h")
    assert result.exit_code == 0
    assert result.stdout == "Removed 2 threads of 2 users idle for more than 30d.\n"
    listed = [t["thread_id"] for t in json.loads(run("threads", "list", "--json").stdout)]
    assert sorted(listed) == ["alice_session", "bob_session", "empty_one"]
    assert sorted(stored.threads()) == sorted(listed)
    assert stored.checkpoints("old_alice") == 0 and stored.checkpoints("old_carol") == 0
    assert stored.checkpoints("alice_session") == 1

    again = run("threads", "cleanup", "--idle-for", "30d")
    assert again.stdout == "Removed 0 threads of 0 users idle for more than 30d.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [([], "Missing option '--idle-for'"), (["--idle-for", "30 days"], "invalid duration '30 days'")],
)
def test_cleanup_needs_a_valid_duration(run, seeded, stored, args, message) -> None:
    before = stored.threads()
    result = run("threads", "cleanup", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert stored.threads() == before


@pytest.mark.parametrize("seed", [1, 2])
def test_list_by_user_shows_exactly_that_users_threads(run, open_db, seed) -> None:
    rng = random.Random(seed)
    users = ["ann", "ben", "cat", "ann_x", "annax", "b.n"]  # LIKE's `_` and regex's `.` in names
    owners: dict[str, str] = {}
    with open_db() as desk:
        for _ in range(rng.randint(15, 30)):
            owner = rng.choice(users)
            owners[desk.threads.create(owner).thread_id] = owner
    for user in [*users, "nobody"]:
        result = run("threads", "list", "--user", user, "--limit", "1000", "--json")
        assert result.exit_code == 0, result.stderr
        listed = json.loads(result.stdout)
        assert {t["thread_id"] for t in listed} == {tid for tid, owner in owners.items() if owner == user}
        assert {t["user_id"] for t in listed} <= {user}
