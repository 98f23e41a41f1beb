"""`threads search TEXT`, `threads list --title` and `db reindex` on a SQLite file."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def talked(run) -> None:
    run("chat", "-u", "alice", "-t", "alice_session", input="My order #1042 arrived damaged.\n")
    run("chat", "-u", "bob", "--new", "--title", "Refund request", input="I'd like a refund for my order.\n")
    run("chat", "-u", "carol", "-t", "carol_session", input="Where is my parcel?\n")


def test_search_prints_each_message_found_under_its_thread(run, talked) -> None:
    result = run("threads", "search", "order")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    headings, said = lines[0::2], lines[1::2]
    assert {line.split()[1] for line in headings} == {"alice", "bob"}
    assert any(line.startswith("alice_session  alice") for line in headings)
    assert any(line.endswith("bob  Refund request") for line in headings)
    assert "  you: My order #1042 arrived damaged." in said
    assert max(len(line) for line in lines) <= 80


def test_search_json_and_owner_filter(run, talked) -> None:
    mine = json.loads(run("threads", "search", "ORDER", "--user", "bob", "--json").stdout)
    assert {hit["thread"]["user_id"] for hit in mine} == {"bob"}
    assert {hit["thread"]["title"] for hit in mine} == {"Refund request"}
    assert "I'd like a refund for my order." in [hit["message"]["content"] for hit in mine]
    assert all("order" in hit["snippet"].lower() for hit in mine)
    assert json.loads(run("threads", "search", "parcel", "--user", "bob", "--json").stdout) == []
    nothing = run("threads", "search", "elephant")
    assert (nothing.exit_code, nothing.stdout) == (0, "No messages found.\n")


def test_deleted_threads_leave_the_index(run, talked) -> None:
    assert run("threads", "delete", "alice_session", "--yes").exit_code == 0
    assert json.loads(run("threads", "search", "damaged", "--json").stdout) == []


def test_list_by_title(run, talked, open_db) -> None:
    with open_db() as desk:
        desk.threads.create("dave", "d1", title="REFUND: 100% of order")
    listed = json.loads(run("threads", "list", "--title", "refund", "--json").stdout)
    assert len(listed) == 2 and listed[0]["thread_id"] == "d1"  # newest first, bob's "Refund request" next
    assert [
        t["thread_id"] for t in json.loads(run("threads", "list", "--title", "100%", "--json").stdout)
    ] == ["d1"]
    assert (
        json.loads(run("threads", "list", "--title", "refund", "--user", "dave", "--json").stdout)[0][
            "thread_id"
        ]
        == "d1"
    )


def test_reindex_says_how_many_threads(run, talked) -> None:
    result = run("db", "reindex")
    assert (result.exit_code, result.stdout) == (0, "indexed the messages of 3 threads\n")
    assert len(json.loads(run("threads", "search", "parcel", "--json").stdout)) >= 1
