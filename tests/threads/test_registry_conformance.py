"""One behavioural contract, checked against every ThreadRegistry backend.

The `registry` fixture (tests/threads/conftest.py) is parametrised over
REGISTRY_FACTORIES, so each test here runs once per backend. SQLite-only
checks (schema migration, datetime round trip, persistence) are at the end.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from threaddesk.storage.sqlite.database import SqliteDatabase
from threaddesk.storage.sqlite.migrations import MIGRATIONS, migrate
from threaddesk.storage.sqlite.threads import SqliteRegistry
from threaddesk.threads.interfaces import ThreadRegistry
from threaddesk.threads.models import PageCursor, Thread, ThreadStatus

T0 = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
US = timedelta(microseconds=1)


def make_thread(
    thread_id: str,
    *,
    user_id: str = "u1",
    at: datetime = T0,
    created: datetime | None = None,
    title: str | None = None,
    metadata: dict[str, Any] | None = None,
    status: ThreadStatus = ThreadStatus.IDLE,
    message_count: int = 0,
) -> Thread:
    return Thread(
        thread_id=thread_id,
        user_id=user_id,
        created_at=created or at,
        last_active_at=at,
        title=title,
        metadata=metadata or {},
        status=status,
        message_count=message_count,
    )


def assert_same_instant(actual: datetime, expected: datetime) -> None:
    assert actual.tzinfo is not None, f"{actual!r} is naive"
    assert abs((actual - expected).total_seconds()) < 1e-3, (actual, expected)


def assert_same_thread(actual: Thread | None, expected: Thread) -> None:
    assert actual is not None
    assert actual.thread_id == expected.thread_id
    assert actual.user_id == expected.user_id
    assert actual.title == expected.title
    assert actual.metadata == expected.metadata
    assert actual.status == expected.status
    assert actual.message_count == expected.message_count
    assert_same_instant(actual.created_at, expected.created_at)
    assert_same_instant(actual.last_active_at, expected.last_active_at)


def ids(threads: list[Thread]) -> list[str]:
    return [t.thread_id for t in threads]


def expected_order(threads: list[Thread]) -> list[str]:
    """Newest activity first, ties broken by thread id descending."""
    return ids(sorted(threads, key=lambda t: (t.last_active_at, t.thread_id), reverse=True))


def cursor_after(thread: Thread) -> PageCursor:
    return PageCursor(thread.last_active_at.timestamp(), thread.thread_id)


async def insert_all(registry: ThreadRegistry, threads: list[Thread]) -> None:
    for thread in threads:
        assert await registry.insert(thread) is True


# --- insert / get / count ----------------------------------------------------


async def test_insert_then_get_returns_every_field(registry: ThreadRegistry) -> None:
    thread = make_thread(
        "t-1",
        user_id="alice",
        created=T0 - timedelta(hours=1),
        at=T0,
        title="Billing question",
        metadata={"channel": "web", "priority": 2, "vip": True, "ctx": {"plan": "pro"}},
        status=ThreadStatus.ERROR,
        message_count=7,
    )
    assert await registry.insert(thread) is True
    assert_same_thread(await registry.get("t-1"), thread)


async def test_insert_duplicate_id_returns_false_and_keeps_original(
    registry: ThreadRegistry,
) -> None:
    original = make_thread("dup", user_id="alice", title="first", metadata={"v": 1})
    intruder = make_thread(
        "dup",
        user_id="mallory",
        at=T0 + timedelta(days=1),
        title="second",
        metadata={"v": 2, "extra": "x"},
        status=ThreadStatus.BUSY,
        message_count=99,
    )
    assert await registry.insert(original) is True
    assert await registry.insert(intruder) is False
    assert_same_thread(await registry.get("dup"), original)
    assert await registry.count() == 1


async def test_get_missing_returns_none(registry: ThreadRegistry) -> None:
    await registry.insert(make_thread("present"))
    assert await registry.get("absent") is None
    assert await registry.get("Present") is None  # ids are case-sensitive


async def test_count(registry: ThreadRegistry) -> None:
    assert await registry.count() == 0
    await insert_all(registry, [make_thread(f"c{i}") for i in range(7)])
    assert await registry.count() == 7
    assert await registry.delete("c3") is True
    assert await registry.count() == 6


# --- list: order and pagination ----------------------------------------------


async def test_list_orders_by_last_active_desc_then_thread_id_desc(
    registry: ThreadRegistry,
) -> None:
    threads = [
        make_thread("b", at=T0),
        make_thread("a", at=T0),
        make_thread("C", at=T0),  # 'C' < 'a' < 'b' byte-wise
        make_thread("z", at=T0 - timedelta(seconds=1)),
        make_thread("y", at=T0 + US),  # one microsecond newer than the ties
        make_thread("x", at=T0 + timedelta(days=2)),
        make_thread("w", at=T0 - timedelta(days=400)),
    ]
    shuffled = threads[:]
    random.Random(7).shuffle(shuffled)
    await insert_all(registry, shuffled)

    listed = await registry.list(limit=100)
    assert ids(listed) == ["x", "y", "b", "a", "C", "z", "w"]
    assert ids(listed) == expected_order(threads)
    assert ids(await registry.list(limit=3)) == ["x", "y", "b"]


@pytest.mark.parametrize("page_size", [1, 3, 4, 50])
async def test_keyset_pagination_visits_every_row_once_with_ties(
    registry: ThreadRegistry, page_size: int
) -> None:
    # 30 threads on only 4 distinct activity times: most pages cut through a tie.
    threads = [make_thread(f"t{i:02d}", at=T0 + timedelta(seconds=(i * 7) % 4)) for i in range(30)]
    await insert_all(registry, threads)

    seen: list[str] = []
    after: PageCursor | None = None
    pages = 0
    while True:
        page = await registry.list(limit=page_size, after=after)
        if not page:
            break
        assert len(page) <= page_size
        pages += 1
        seen.extend(ids(page))
        after = cursor_after(page[-1])
        assert pages <= 31, "pagination does not terminate"

    assert len(seen) == len(set(seen)), "a row was returned twice"
    assert seen == expected_order(threads)
    assert pages == -(-30 // page_size)


async def test_pagination_combines_with_filters(registry: ThreadRegistry) -> None:
    threads = [
        make_thread(f"t{i:02d}", user_id="alice" if i % 3 else "bob", at=T0 + timedelta(seconds=i % 2))
        for i in range(20)
    ]
    await insert_all(registry, threads)
    alice = [t for t in threads if t.user_id == "alice"]

    seen: list[str] = []
    after = None
    while page := await registry.list(user_id="alice", limit=4, after=after):
        seen.extend(ids(page))
        after = cursor_after(page[-1])
    assert seen == expected_order(alice)


# --- list: filters -----------------------------------------------------------


async def test_filter_by_user_id(registry: ThreadRegistry) -> None:
    await insert_all(
        registry,
        [
            make_thread("a1", user_id="alice"),
            make_thread("b1", user_id="bob"),
            make_thread("a2", user_id="alice", at=T0 + US),
            make_thread("c1", user_id="Alice"),
        ],
    )
    assert ids(await registry.list(user_id="alice")) == ["a2", "a1"]
    assert ids(await registry.list(user_id="bob")) == ["b1"]
    assert await registry.list(user_id="nobody") == []
    assert await registry.list(user_id="alice' OR '1'='1") == []


async def test_filter_by_title_contains_ignoring_case_and_wildcards(registry: ThreadRegistry) -> None:
    await insert_all(
        registry,
        [
            make_thread("r1", title="Refund for order #1042"),
            make_thread("r2", title="REFUNDS", at=T0 + US),
            make_thread("p1", title="100% off_promo"),
            make_thread("p2", title="100x offxpromo"),
            make_thread("n1"),
        ],
    )
    assert ids(await registry.list(title="refund")) == ["r2", "r1"]
    assert ids(await registry.list(title="order #10")) == ["r1"]
    assert ids(await registry.list(title="100% off_")) == ["p1"]  # % and _ match only themselves
    assert ids(await registry.list(title="%")) == ["p1"]
    assert await registry.list(title="nothing like it") == []
    assert ids(await registry.list(title="refund", after=cursor_after(make_thread("r2", at=T0 + US)))) == [
        "r1"
    ]


async def test_filter_by_status(registry: ThreadRegistry) -> None:
    await insert_all(
        registry,
        [
            make_thread("i1"),
            make_thread("b1", status=ThreadStatus.BUSY),
            make_thread("e1", status=ThreadStatus.ERROR),
            make_thread("i2", at=T0 + US),
        ],
    )
    assert ids(await registry.list(status=ThreadStatus.IDLE)) == ["i2", "i1"]
    assert ids(await registry.list(status=ThreadStatus.BUSY)) == ["b1"]
    assert ids(await registry.list(status=ThreadStatus.ERROR)) == ["e1"]
    await registry.record_turn("i1", at=T0, message_count=2, status=ThreadStatus.ERROR)
    assert ids(await registry.list(status=ThreadStatus.ERROR)) == ["i1", "e1"]
    assert ids(await registry.list(status=ThreadStatus.IDLE)) == ["i2"]


async def test_filter_inactive_before_is_strict(registry: ThreadRegistry) -> None:
    cutoff = T0
    await insert_all(
        registry,
        [
            make_thread("long-ago", at=cutoff - timedelta(days=30)),
            make_thread("just-before", at=cutoff - US),
            make_thread("exactly", at=cutoff),
            make_thread("after", at=cutoff + US),
        ],
    )
    assert ids(await registry.list(inactive_before=cutoff)) == ["just-before", "long-ago"]
    assert ids(await registry.list(inactive_before=cutoff + US)) == [
        "exactly",
        "just-before",
        "long-ago",
    ]
    assert await registry.list(inactive_before=cutoff - timedelta(days=31)) == []


async def test_filter_inactive_before_accepts_other_timezones(registry: ThreadRegistry) -> None:
    await insert_all(registry, [make_thread("old", at=T0 - timedelta(hours=1)), make_thread("new", at=T0)])
    # The same instant as T0, written in UTC+05:30.
    cutoff = T0.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert ids(await registry.list(inactive_before=cutoff)) == ["old"]


METADATA_ROWS: dict[str, dict[str, Any]] = {
    "m-str": {"channel": "web", "lang": "en"},
    "m-str2": {"channel": "email", "lang": "en"},
    "m-int": {"priority": 3, "lang": "fr"},
    "m-int2": {"priority": 30},
    "m-bool-t": {"vip": True},
    "m-bool-f": {"vip": False},
    "m-nested": {"ctx": {"plan": "pro", "seats": 5}},
    "m-nested2": {"ctx": {"plan": "free", "seats": 5}},
    "m-empty": {},
}


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ({"channel": "web"}, {"m-str"}),
        ({"channel": "email"}, {"m-str2"}),
        ({"channel": "WEB"}, set()),
        ({"lang": "en"}, {"m-str", "m-str2"}),
        ({"lang": "en", "channel": "web"}, {"m-str"}),  # every key must match
        ({"lang": "fr", "channel": "web"}, set()),
        ({"priority": 3}, {"m-int"}),
        ({"priority": 30}, {"m-int2"}),
        ({"priority": "3"}, set()),  # a string is not the number
        ({"vip": True}, {"m-bool-t"}),
        ({"vip": False}, {"m-bool-f"}),
        ({"ctx": {"plan": "pro", "seats": 5}}, {"m-nested"}),
        ({"ctx": {"plan": "pro"}}, set()),  # equality, not containment
        ({"ctx": {"plan": "pro", "seats": 5, "x": 1}}, set()),
        ({"absent": "web"}, set()),
        ({"absent": 0}, set()),
        ({"absent": False}, set()),
        ({}, set(METADATA_ROWS)),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else "",
)
async def test_filter_by_metadata_equality(
    registry: ThreadRegistry, filter_: dict[str, Any], expected: set[str]
) -> None:
    await insert_all(registry, [make_thread(tid, metadata=md) for tid, md in METADATA_ROWS.items()])
    assert set(ids(await registry.list(metadata=filter_))) == expected


TRICKY_KEYS = [
    'quo"te',
    "apo'strophe",
    "a.b",
    "$",
    "$.a",
    "$[0]",
    "[0]",
    "back\\slash",
    "with space",
    "') OR 1=1 --",
    "ключ",
    "",
]


@pytest.mark.parametrize("key", TRICKY_KEYS)
async def test_metadata_keys_with_quotes_dots_and_dollars_are_plain_keys(
    registry: ThreadRegistry, key: str
) -> None:
    await insert_all(
        registry,
        [
            make_thread("target", metadata={key: "hit", "other": 1}),
            make_thread("decoy", metadata={"other": 1, "a": {"b": "hit"}, "x": ["hit"]}),
            make_thread("near", metadata={key: "miss"}),
        ],
    )
    assert ids(await registry.list(metadata={key: "hit"})) == ["target"]
    assert set(ids(await registry.list(metadata={key: "miss"}))) == {"near"}
    # The stored key round-trips unchanged.
    target = await registry.get("target")
    assert target is not None and target.metadata[key] == "hit"


async def test_dotted_key_does_not_reach_into_nested_objects(registry: ThreadRegistry) -> None:
    await insert_all(registry, [make_thread("nested", metadata={"a": {"b": 1}})])
    assert await registry.list(metadata={"a.b": 1}) == []
    assert await registry.list(metadata={"$.a.b": 1}) == []
    assert ids(await registry.list(metadata={"a": {"b": 1}})) == ["nested"]


async def test_metadata_filter_ignores_nested_key_order(registry: ThreadRegistry) -> None:
    await insert_all(registry, [make_thread("n", metadata={"ctx": {"plan": "pro", "seats": 5}})])
    # Python dicts (and JSON objects) are equal whatever their key order.
    assert ids(await registry.list(metadata={"ctx": {"seats": 5, "plan": "pro"}})) == ["n"]


@pytest.mark.parametrize(
    ("stored", "wanted"),
    [
        ('{"a":1}', {"a": 1}),  # a string that looks like JSON is not an object
        ({"a": 1}, '{"a":1}'),
        ("[1,2]", [1, 2]),
        ([1, 2], "[1,2]"),
    ],
    ids=["str-vs-dict", "dict-vs-str", "str-vs-list", "list-vs-str"],
)
async def test_metadata_filter_does_not_confuse_json_text_with_structures(
    registry: ThreadRegistry, stored: Any, wanted: Any
) -> None:
    await insert_all(registry, [make_thread("t", metadata={"k": stored})])
    assert await registry.list(metadata={"k": wanted}) == []


# --- update ------------------------------------------------------------------


async def test_update_title_and_merge_metadata(registry: ThreadRegistry) -> None:
    original = make_thread(
        "u", title="Old", metadata={"keep": 1, "change": "a", "drop": True, "ctx": {"x": 1}}
    )
    await registry.insert(original)

    updated = await registry.update(
        "u", title="New", metadata={"change": "b", "drop": None, "add": [1, 2], "ctx": {"y": 2}}
    )
    expected_md = {"keep": 1, "change": "b", "add": [1, 2], "ctx": {"y": 2}}
    assert updated is not None
    assert updated.title == "New"
    assert updated.metadata == expected_md
    # Untouched fields stay.
    assert updated.user_id == original.user_id
    assert updated.message_count == original.message_count
    assert_same_instant(updated.last_active_at, original.last_active_at)
    assert_same_instant(updated.created_at, original.created_at)

    stored = await registry.get("u")
    assert stored is not None
    assert stored.title == "New"
    assert stored.metadata == expected_md


async def test_update_without_title_keeps_it_and_removing_absent_key_is_harmless(
    registry: ThreadRegistry,
) -> None:
    await registry.insert(make_thread("u", title="Keep me", metadata={"a": 1}))
    updated = await registry.update("u", metadata={"never-there": None})
    assert updated is not None
    assert updated.title == "Keep me"
    assert updated.metadata == {"a": 1}
    updated = await registry.update("u", title="Renamed")
    assert updated is not None and updated.metadata == {"a": 1}
    stored = await registry.get("u")
    assert stored is not None and stored.title == "Renamed" and stored.metadata == {"a": 1}


async def test_update_merged_metadata_is_filterable(registry: ThreadRegistry) -> None:
    await registry.insert(make_thread("u", metadata={"stage": "new"}))
    await registry.update("u", metadata={"stage": "done"})
    assert await registry.list(metadata={"stage": "new"}) == []
    assert ids(await registry.list(metadata={"stage": "done"})) == ["u"]
    await registry.update("u", metadata={"stage": None})
    assert await registry.list(metadata={"stage": "done"}) == []


async def test_update_missing_returns_none(registry: ThreadRegistry) -> None:
    assert await registry.update("ghost", title="x", metadata={"a": 1}) is None
    assert await registry.count() == 0


# --- record_turn ---------------------------------------------------------------


async def test_record_turn_sets_activity_count_and_status(registry: ThreadRegistry) -> None:
    original = make_thread("r", title="T", metadata={"a": 1})
    await registry.insert(original)
    later = T0 + timedelta(hours=3, microseconds=17)

    recorded = await registry.record_turn("r", at=later, message_count=4, status=ThreadStatus.ERROR)
    assert recorded is not None
    assert_same_instant(recorded.last_active_at, later)
    assert recorded.message_count == 4
    assert recorded.status == ThreadStatus.ERROR
    assert_same_instant(recorded.created_at, original.created_at)
    assert recorded.title == "T" and recorded.metadata == {"a": 1}

    stored = await registry.get("r")
    assert stored is not None
    assert_same_instant(stored.last_active_at, later)
    assert stored.message_count == 4
    assert stored.status == ThreadStatus.ERROR

    again = await registry.record_turn("r", at=later + timedelta(seconds=1), message_count=6)
    assert again is not None and again.status == ThreadStatus.IDLE and again.message_count == 6


async def test_record_turn_moves_thread_to_the_front_of_the_list(
    registry: ThreadRegistry,
) -> None:
    await insert_all(registry, [make_thread("old", at=T0 - timedelta(days=1)), make_thread("new", at=T0)])
    assert ids(await registry.list()) == ["new", "old"]
    await registry.record_turn("old", at=T0 + timedelta(minutes=1), message_count=2)
    assert ids(await registry.list()) == ["old", "new"]
    assert ids(await registry.list(inactive_before=T0 + US)) == ["new"]


async def test_record_turn_missing_returns_none(registry: ThreadRegistry) -> None:
    assert await registry.record_turn("ghost", at=T0, message_count=1) is None
    assert await registry.count() == 0


# --- delete --------------------------------------------------------------------


async def test_delete_returns_true_once_then_false(registry: ThreadRegistry) -> None:
    await insert_all(registry, [make_thread("d"), make_thread("keep")])
    assert await registry.delete("d") is True
    assert await registry.get("d") is None
    assert await registry.delete("d") is False
    assert await registry.delete("never") is False
    assert ids(await registry.list()) == ["keep"]
    assert await registry.count() == 1


async def test_delete_inactive_before_refuses_a_thread_that_became_active(
    registry: ThreadRegistry,
) -> None:
    await registry.insert(make_thread("d", at=T0 - timedelta(days=40)))
    cutoff = T0 - timedelta(days=30)
    # It turns active again between the listing and the delete.
    await registry.record_turn("d", at=T0, message_count=2)
    assert await registry.delete("d", inactive_before=cutoff) is False
    assert await registry.get("d") is not None
    # Strict: last active exactly at the cutoff is not "before" it.
    assert await registry.delete("d", inactive_before=T0) is False
    assert await registry.get("d") is not None
    assert await registry.delete("d", inactive_before=T0 + US) is True
    assert await registry.get("d") is None


async def test_delete_inactive_before_removes_an_idle_thread(registry: ThreadRegistry) -> None:
    await registry.insert(make_thread("idle", at=T0 - timedelta(days=40)))
    assert await registry.delete("idle", inactive_before=T0 - timedelta(days=30)) is True
    assert await registry.count() == 0


# --- returned values are snapshots --------------------------------------------


async def test_returned_threads_do_not_alias_stored_metadata(registry: ThreadRegistry) -> None:
    inserted = make_thread("s", metadata={"a": 1, "ctx": {"b": 2}})
    await registry.insert(inserted)
    inserted.metadata["after_insert"] = True

    got = await registry.get("s")
    assert got is not None
    got.metadata["after_get"] = True
    got.metadata["ctx"]["b"] = 999

    listed = await registry.list()
    listed[0].metadata["after_list"] = True

    stored = await registry.get("s")
    assert stored is not None
    assert stored.metadata == {"a": 1, "ctx": {"b": 2}}


# --- SQLite only ---------------------------------------------------------------

EXPECTED_COLUMNS = {
    # name: (type, notnull, pk)
    "thread_id": ("TEXT", 0, 1),
    "user_id": ("TEXT", 1, 0),
    "title": ("TEXT", 0, 0),
    "metadata": ("TEXT", 1, 0),
    "status": ("TEXT", 1, 0),
    "created_at": ("REAL", 1, 0),
    "last_active_at": ("REAL", 1, 0),
    "message_count": ("INTEGER", 1, 0),
}


def test_sqlite_migrate_creates_table_once() -> None:
    conn = sqlite3.connect(":memory:")
    try:
        applied = migrate(conn)
        assert applied == [name for name, _ in MIGRATIONS]
        assert "001_threads" in applied

        info = conn.execute("PRAGMA table_info(threaddesk_threads)").fetchall()
        columns = {row[1]: (row[2].upper(), row[3], row[5]) for row in info}
        assert columns == EXPECTED_COLUMNS

        indexes = {row[1] for row in conn.execute("PRAGMA index_list(threaddesk_threads)")}
        assert {"threaddesk_threads_by_user", "threaddesk_threads_by_activity"} <= indexes

        recorded = [row[0] for row in conn.execute("SELECT name FROM threaddesk_migrations")]
        assert recorded == applied

        assert migrate(conn) == []
        assert migrate(conn) == []
        recorded = [row[0] for row in conn.execute("SELECT name FROM threaddesk_migrations")]
        assert recorded == applied
        assert not conn.in_transaction
    finally:
        conn.close()


async def test_sqlite_datetimes_come_back_aware_utc_and_equal(tmp_path: Path) -> None:
    database = SqliteDatabase(tmp_path / "tz.sqlite")
    try:
        registry = SqliteRegistry(database)
        await registry.setup()
        ist = timezone(timedelta(hours=5, minutes=30))
        samples = {
            "utc": T0,
            "utc-us": T0.replace(microsecond=999_999),
            "ist": datetime(2026, 3, 1, 17, 30, 0, 1, tzinfo=ist),
            "epoch-ish": datetime(1970, 1, 2, tzinfo=UTC),
            "far": datetime(2999, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC),
        }
        for tid, at in samples.items():
            await registry.insert(make_thread(tid, created=at - timedelta(hours=1), at=at))

        for tid, at in samples.items():
            got = await registry.get(tid)
            assert got is not None
            for value, expected in ((got.last_active_at, at), (got.created_at, at - timedelta(hours=1))):
                assert value.tzinfo is not None
                assert value.utcoffset() == timedelta(0)
                assert_same_instant(value, expected)

        later = T0 + timedelta(days=1, microseconds=3)
        recorded = await registry.record_turn("utc", at=later, message_count=1)
        assert recorded is not None and recorded.last_active_at.utcoffset() == timedelta(0)
        assert_same_instant(recorded.last_active_at, later)
        for listed in await registry.list():
            assert listed.last_active_at.utcoffset() == timedelta(0)
            assert listed.created_at.utcoffset() == timedelta(0)
    finally:
        database.close()


async def test_sqlite_reopened_database_keeps_rows(tmp_path: Path) -> None:
    path = tmp_path / "persist.sqlite"
    thread = make_thread(
        "kept",
        user_id="alice",
        title="Persisted",
        metadata={"a": [1, 2], "b": {"c": "d"}},
        status=ThreadStatus.ERROR,
        message_count=3,
    )
    database = SqliteDatabase(path)
    try:
        registry = SqliteRegistry(database)
        await registry.setup()
        await registry.insert(thread)
        await registry.insert(make_thread("gone"))
        await registry.delete("gone")
    finally:
        database.close()

    database = SqliteDatabase(path)
    try:
        registry = SqliteRegistry(database)
        await registry.setup()  # nothing left to migrate, rows untouched
        assert await registry.count() == 1
        assert_same_thread(await registry.get("kept"), thread)
        assert await registry.get("gone") is None
        assert migrate(database.conn) == []
    finally:
        database.close()
