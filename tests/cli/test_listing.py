"""`threads list`: tables that fit 80 columns without cutting words across lines, filters, paging."""

from __future__ import annotations

import asyncio
import json

import pytest

from threaddesk import open_desk
from threaddesk.threads import ThreadStatus

LONG_TITLE = "My order #1042 arrived Damaged and the replacement never shipped either"
TAGS = {"tier": "gold", "region": "eu-west", "channel": "email"}


@pytest.fixture
def crowded(open_db) -> dict[str, dict]:
    """Threads whose titles, owners and tags together are far wider than 80 columns."""
    made = {}
    with open_db() as desk:
        for user, title, tags in [
            ("customer.with.a.long.name@example.com", LONG_TITLE, TAGS),
            ("bob", "Refund", {"tier": "silver"}),
            ("carol", None, {}),
        ]:
            thread = desk.threads.new_conversation(user, title=title, metadata=tags)
            made[thread.thread_id] = {"user": user, "title": title, "tags": tags}
    return made


def _words(crowded: dict[str, dict]) -> set[str]:
    """Every whole word a row of the table may show."""
    words = {"thread", "user", "title", "msgs", "last", "active", "tags", "ago", "0", "*"}
    for thread_id, thread in crowded.items():
        words |= {thread_id, thread["user"], *(thread["title"] or "").split()}
        words |= {f"{key}={value}" for key, value in thread["tags"].items()}
    return words


def _assert_no_word_is_broken(output: str, words: set[str]) -> None:
    for line in output.splitlines():
        for token in line.split():
            if token.endswith("s") and token[:-1].isdigit():
                continue  # "12s" of "12s ago"
            cut = token.removesuffix("…")
            assert token in words or (token.endswith("…") and any(w.startswith(cut) for w in words)), (
                f"{token!r} is not a whole word (or one cut with an ellipsis) in line {line!r}"
            )


def test_list_fits_80_columns_one_line_per_thread_without_breaking_words(run, crowded) -> None:
    result = run("threads", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + len(crowded)  # a header, then one line per thread: nothing wraps
    assert max(len(line) for line in lines) <= 80
    _assert_no_word_is_broken(result.stdout, _words(crowded))
    for thread_id in crowded:  # ids are never cut: they are what you copy into the next command
        assert sum(line.split()[0] == thread_id for line in lines) == 1
    assert "…" in result.stdout  # the long title had to give way
    assert "Refund" in result.stdout.split()  # short cells stay whole


def test_a_wide_terminal_shows_every_cell_whole(run, crowded, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    result = run("threads", "list")
    assert result.exit_code == 0
    assert LONG_TITLE in result.stdout and "region=eu-west tier=gold" in result.stdout
    assert "…" not in result.stdout


def test_cleanup_dry_run_table_fits_too_and_has_json(run, seed) -> None:
    seed(*[(f"old-{i}", "someone.with.a.long.name@example.com", 40, []) for i in range(3)])
    table = run("threads", "cleanup", "--idle-for", "30d", "--dry-run")
    assert table.exit_code == 0
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    assert len(table.stdout.splitlines()) == 1 + 3 + 1
    as_json = json.loads(run("threads", "cleanup", "--idle-for", "30d", "--dry-run", "--json").stdout)
    assert sorted(t["thread_id"] for t in as_json) == ["old-0", "old-1", "old-2"]
    removed = run("threads", "cleanup", "--idle-for", "30d", "--json")
    assert sorted(t["thread_id"] for t in json.loads(removed.stdout)) == ["old-0", "old-1", "old-2"]
    assert json.loads(run("threads", "list", "--json").stdout) == []


def _mark_error(db, thread_id: str) -> None:
    async def mark() -> None:
        async with open_desk(database_url=str(db)) as desk:
            await desk.threads.record_turn(thread_id, message_count=2, status=ThreadStatus.ERROR)

    asyncio.run(mark())


def test_list_filters_by_status_and_tags(run, open_db, db) -> None:
    with open_db() as desk:
        desk.threads.create("alice", "gold-eu", metadata={"tier": "gold", "region": "eu"})
        desk.threads.create("alice", "gold-us", metadata={"tier": "gold", "region": "us"})
        desk.threads.create("bob", "silver-eu", metadata={"tier": "silver", "region": "eu"})
        desk.threads.create("bob", "failed", metadata={"tier": "gold"})
    _mark_error(db, "failed")

    def listed(*args: str) -> list[str]:
        result = run("threads", "list", "--json", *args)
        assert result.exit_code == 0, result.output
        return sorted(t["thread_id"] for t in json.loads(result.stdout))

    assert listed("--tag", "tier=gold") == ["failed", "gold-eu", "gold-us"]
    assert listed("--tag", "tier=gold", "--tag", "region=eu") == ["gold-eu"]
    assert listed("--tag", "region=eu", "--user", "bob") == ["silver-eu"]
    assert listed("--tag", "tier=platinum") == []
    assert listed("--status", "error") == ["failed"]
    assert listed("--status", "idle", "--tag", "tier=gold") == ["gold-eu", "gold-us"]
    assert listed("--status", "busy") == []

    bad_status = run("threads", "list", "--status", "broken")
    assert bad_status.exit_code == 2 and "'broken' is not one of" in bad_status.stderr
    bad_tag = run("threads", "list", "--tag", "tier")
    assert bad_tag.exit_code == 2 and "use KEY=VALUE" in bad_tag.stderr


def test_cursor_walks_every_page_and_all_reads_them_at_once(run, open_db) -> None:
    with open_db() as desk:
        made = {desk.threads.create("alice", f"t{i}").thread_id for i in range(7)}
    seen: list[str] = []
    cursor: list[str] = []
    for expected in (3, 3, 1):
        page = run("threads", "list", "--limit", "3", "--json", *cursor)
        assert page.exit_code == 0, page.output
        seen += [t["thread_id"] for t in json.loads(page.stdout)]
        assert len(seen) % 3 == expected % 3
        hint = page.stderr.strip()
        if expected == 3:
            assert hint.startswith("More threads: rerun with --cursor ")
            cursor = ["--cursor", hint.split()[5]]
        else:
            assert hint == ""
    assert sorted(seen) == sorted(made) and len(seen) == 7  # every thread once, in order of activity

    everything = run("threads", "list", "--all", "--limit", "3", "--json")
    assert [t["thread_id"] for t in json.loads(everything.stdout)] == seen
    assert everything.stderr == ""
    bad = run("threads", "list", "--cursor", "not-a-cursor")
    assert bad.exit_code == 2 and "invalid cursor" in bad.stderr


def test_all_reaches_past_the_first_thousand(run, open_db) -> None:
    with open_db() as desk:
        for i in range(1003):
            desk.threads.create("alice", f"t{i:04d}")
    first = run("threads", "list", "--limit", "1000", "--json")
    assert len(json.loads(first.stdout)) == 1000 and "--cursor" in first.stderr
    everything = run("threads", "list", "--all", "--json")
    assert everything.exit_code == 0
    assert sorted(t["thread_id"] for t in json.loads(everything.stdout)) == [f"t{i:04d}" for i in range(1003)]
    table = run("threads", "list", "--all")
    assert len(table.stdout.splitlines()) == 1 + 1003
