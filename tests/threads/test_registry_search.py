"""`ThreadRegistry.search` / `count_matching` (LangGraph's threads.search and count), on every backend."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_registry_conformance import T0, ids, insert_all, make_thread

from threaddesk.errors import InvalidArgument
from threaddesk.threads.interfaces import ThreadRegistry
from threaddesk.threads.models import ThreadQuery, ThreadStatus


@pytest.fixture
async def five(registry: ThreadRegistry) -> ThreadRegistry:
    """t0..t4: created in order, activity in reverse order, two owners, statuses and tiers mixed."""
    threads = [
        make_thread(
            f"t{n}",
            user_id="alice" if n % 2 == 0 else "bob",
            created=T0 + timedelta(seconds=n),
            at=T0 + timedelta(minutes=10 - n),
            metadata={"tier": "gold" if n < 3 else "free", "n": n},
            status=[ThreadStatus.IDLE, ThreadStatus.ERROR, ThreadStatus.INTERRUPTED][n % 3],
        )
        for n in range(5)
    ]
    await insert_all(registry, threads)
    return registry


@pytest.mark.parametrize(
    ("sort_by", "order", "expected"),
    [
        ("updated_at", "desc", ["t0", "t1", "t2", "t3", "t4"]),
        ("updated_at", "asc", ["t4", "t3", "t2", "t1", "t0"]),
        ("created_at", "desc", ["t4", "t3", "t2", "t1", "t0"]),
        ("created_at", "asc", ["t0", "t1", "t2", "t3", "t4"]),
        ("thread_id", "desc", ["t4", "t3", "t2", "t1", "t0"]),
        ("status", "asc", ["t1", "t4", "t0", "t3", "t2"]),  # error, idle, interrupted; ties by id
    ],
)
async def test_sort(five: ThreadRegistry, sort_by: str, order: str, expected: list[str]) -> None:
    assert ids(await five.search(ThreadQuery(sort_by=sort_by, sort_order=order))) == expected


async def test_offset_and_limit_slice_the_order(five: ThreadRegistry) -> None:
    query = ThreadQuery(sort_by="created_at", sort_order="asc", limit=2, offset=1)
    assert ids(await five.search(query)) == ["t1", "t2"]
    assert ids(await five.search(ThreadQuery(limit=2, offset=4))) == ["t4"]
    assert await five.search(ThreadQuery(offset=5)) == []


async def test_filters_combine(five: ThreadRegistry) -> None:
    query = ThreadQuery(user_id="alice", metadata={"tier": "gold"}, sort_by="thread_id", sort_order="asc")
    assert ids(await five.search(query)) == ["t0", "t2"]
    assert await five.count_matching(query) == 2
    picked = ThreadQuery(ids=("t1", "t3", "missing"), sort_by="thread_id", sort_order="asc")
    assert ids(await five.search(picked)) == ["t1", "t3"]
    assert await five.count_matching(picked) == 2
    assert await five.count_matching(ThreadQuery(ids=())) == 0
    interrupted = ThreadQuery(status=ThreadStatus.INTERRUPTED)
    assert ids(await five.search(interrupted)) == ["t2"]
    assert await five.count_matching(ThreadQuery()) == 5
    assert await five.count_matching(ThreadQuery(user_id="bob", status=ThreadStatus.ERROR)) == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"sort_by": "title"},
        {"sort_by": "thread_id; DROP TABLE threaddesk_threads"},
        {"sort_order": "sideways"},
        {"limit": 0},
        {"offset": -1},
    ],
)
def test_malformed_queries_are_refused(bad: dict) -> None:
    with pytest.raises(InvalidArgument):
        ThreadQuery(**bad)
