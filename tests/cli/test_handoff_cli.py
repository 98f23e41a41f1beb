"""The handoff from the command line: roles, the queue, reading, answering, handing back."""

from __future__ import annotations

import json

from threaddesk.agent.handoff import WAITING_TEXT


def _handed_over(open_db, thread_id: str, owner: str = "alice") -> None:
    with open_db() as desk:
        desk.send(thread_id, "Hi, I'm Alice.", user_id=owner, create=True)
        assert (
            desk.send(thread_id, "Please let me speak to a real person", user_id=owner).text == WAITING_TEXT
        )


def test_roles_on_the_command_line(run) -> None:
    for args, shown in [
        (["sam", "--role", "agent"], "Created agent user 'sam'"),
        (["root", "--admin"], "Created admin user 'root'"),
        (["ann"], "Created user 'ann'"),
        (["ida", "--role", "admin"], "Created admin user 'ida'"),
    ]:
        added = run("users", "add", *args)
        assert added.exit_code == 0 and shown in added.stderr, added.output
    listed = json.loads(run("users", "list", "--json").stdout)
    assert {u["name"]: (u["role"], u["is_admin"]) for u in listed} == {
        "ann": ("customer", False),
        "ida": ("admin", True),
        "root": ("admin", True),
        "sam": ("agent", False),
    }
    table = run("users", "list").stdout
    assert "agent" in table and "customer" in table
    bad = run("users", "add", "zed", "--role", "wizard")
    assert bad.exit_code == 2 and "wizard" in bad.stderr
    contradiction = run("users", "add", "zed", "--admin", "--role", "agent")
    assert contradiction.exit_code == 2 and "contradicts" in contradiction.stderr


def test_the_queue_history_and_a_reply_then_hand_back(run, open_db) -> None:
    run("users", "add", "sam", "--role", "agent")
    _handed_over(open_db, "first", "alice")
    _handed_over(open_db, "second", "bob")
    queue = run("threads", "list", "--status", "interrupted", "--json")
    assert [t["thread_id"] for t in json.loads(queue.stdout)] == ["first", "second"]
    paged = run("threads", "list", "--status", "interrupted", "-n", "1", "--json")
    assert [t["thread_id"] for t in json.loads(paged.stdout)] == ["first"] and "inbox:1" in paged.stderr
    rest = run("threads", "list", "--status", "interrupted", "--cursor", "inbox:1", "--json")
    assert [t["thread_id"] for t in json.loads(rest.stdout)] == ["second"]

    replied = run("threads", "reply", "first", "Hello Alice, Sam here.", "--as", "sam")
    assert replied.exit_code == 0 and "Replied: first is idle." in replied.stdout, replied.output
    history = run("threads", "history", "first").stdout
    assert "sam (human agent): Hello Alice, Sam here." in history
    # The handoff shows as the agent's tool call and its result (dimmed on a terminal), as any tool's.
    assert "agent: → handoff_to_human(reason='the customer asked for a person')" in history
    as_json = json.loads(run("threads", "history", "first", "--json").stdout)
    assert as_json[-1]["author"] == "sam" and "author" not in as_json[0]

    with open_db() as desk:
        desk.send("first", "One more question", user_id="alice")
    back = run("threads", "reply", "first", "--as", "sam", "--hand-back")
    assert back.exit_code == 0 and "Handed back to the assistant" in back.stdout
    closed = run("threads", "reply", "second", "Sorted, bye!", "--as", "sam", "--close", "--json")
    assert json.loads(closed.stdout)["thread"]["status"] == "idle"
    assert json.loads(run("threads", "list", "--status", "interrupted", "--json").stdout) == []


def test_reply_refusals_exit_codes(run, open_db) -> None:
    run("users", "add", "sam", "--role", "agent")
    run("users", "add", "ann")
    _handed_over(open_db, "t1")
    assert run("threads", "reply", "t1", "hi", "--as", "ann").exit_code == 2  # a customer: not allowed
    assert run("threads", "reply", "t1", "hi", "--as", "nobody").exit_code == 3  # no such user
    assert run("threads", "reply", "t1", "--as", "sam").exit_code == 2  # nothing to do
    assert run("threads", "reply", "t1", "hi", "--as", "sam", "--hand-back", "--close").exit_code == 2
    assert run("threads", "reply", "t1", "hi").exit_code == 2  # --as is required
    assert run("threads", "reply", "t1", "Sam here.", "--as", "sam").exit_code == 0
    again = run("threads", "reply", "t1", "Sam again.", "--as", "sam")
    assert again.exit_code == 6 and "not waiting for a human agent" in again.stderr  # a conflict
    bad_cursor = run("threads", "list", "--status", "interrupted", "--cursor", "xyz")
    assert bad_cursor.exit_code == 2


def test_chat_shows_the_handoff_notice(run) -> None:
    chat = run("chat", "--thread", "c1", input="I need a human\n")
    assert chat.exit_code == 0, chat.output
    assert WAITING_TEXT in chat.stdout
