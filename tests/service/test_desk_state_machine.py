"""A hypothesis state machine drives the desk in random order and checks it against a plain model.

Create (chosen or generated ids, colliding on purpose), send, rename, tag,
delete, cleanup and the passing of time, by owners and by other users, on
every storage backend. After each step the desk must agree with the model on
which threads exist, their owners, titles, metadata, message counts and
histories, and every user's listing must hold exactly their threads.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule
from support.postgres import recycled_postgres_schema, require_postgres

from threaddesk.errors import InvalidArgument, ThreadExists, ThreadNotFound
from threaddesk.sync import ThreadDesk
from threaddesk.threads.models import MAX_PAGE_SIZE

USERS = ["alice", "bob", "carol"]
CHOSEN_IDS = ["order-1", "order-2", "ticket:3", "a.b_c-4"]
# Valid text of every kind: emoji, right-to-left, combining marks; no NUL, no lone surrogates.
TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(str.strip)
TITLES = st.one_of(TEXT, st.just("   "), st.text(min_size=201, max_size=210).filter(str.strip))
TAG_VALUES = st.one_of(st.none(), TEXT, st.integers(), st.lists(st.booleans(), max_size=3))
TAGS = st.dictionaries(st.sampled_from(["tier", "lang", "🏷️", "שפה"]), TAG_VALUES, max_size=3)
IDLE = {
    "30s": timedelta(seconds=30),
    "5m": timedelta(minutes=5),
    "1h": timedelta(hours=1),
    "2d": timedelta(days=2),
}


@dataclass
class ModelThread:
    owner: str
    title: str | None
    metadata: dict
    last_active: object
    messages: list[tuple[str, str]] = field(default_factory=list)


class Clock:
    """Moved by the `time_passes` rule; whole seconds, so every backend stores it exactly."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class DeskMachine(RuleBasedStateMachine):
    """Subclasses say which storage to open, in `open_url()`."""

    threads = Bundle("threads")

    def __init__(self) -> None:
        super().__init__()
        self.resources = ExitStack()
        self.clock = Clock()
        url = self.open_url()
        self.desk = self.resources.enter_context(ThreadDesk.open(database_url=url, clock=self.clock))
        self.model: dict[str, ModelThread] = {}

    def teardown(self) -> None:
        self.resources.close()

    # -- actions ---------------------------------------------------------------------------------

    @initialize(target=threads, user=st.sampled_from(USERS), title=st.one_of(st.none(), TEXT))
    def first_thread(self, user: str, title: str | None) -> str:
        return self.create_thread(user, None, title, {})

    @rule(
        target=threads,
        user=st.sampled_from(USERS),
        chosen=st.one_of(st.none(), st.sampled_from(CHOSEN_IDS)),
        title=st.one_of(st.none(), TEXT),
        metadata=TAGS.map(lambda tags: {k: v for k, v in tags.items() if v is not None}),
    )
    def create(self, user: str, chosen: str | None, title: str | None, metadata: dict) -> str:
        return self.create_thread(user, chosen, title, metadata)

    def create_thread(self, user: str, chosen: str | None, title: str | None, metadata: dict) -> str:
        if chosen in self.model:
            with pytest.raises(ThreadExists):
                self.desk.threads.create(user, chosen, title=title, metadata=metadata)
            return chosen
        thread = self.desk.threads.create(user, chosen, title=title, metadata=metadata)
        assert chosen is None or thread.thread_id == chosen
        assert thread.thread_id not in self.model
        title = title.strip() if title else None
        self.model[thread.thread_id] = ModelThread(user, title, metadata, self.clock())
        return thread.thread_id

    @rule(thread_id=threads, as_owner=st.booleans(), text=TEXT)
    def send(self, thread_id: str, as_owner: bool, text: str) -> None:
        user = self._caller(thread_id, as_owner)
        if thread_id not in self.model or user != self.model[thread_id].owner:
            with pytest.raises(ThreadNotFound):
                self.desk.send(thread_id, text, user_id=user)
            return
        reply = self.desk.send(thread_id, text, user_id=user)
        expected = self.model[thread_id]
        expected.messages += [("user", text), ("assistant", reply.message.content)]
        expected.last_active = self.clock()
        assert reply.thread.message_count == len(expected.messages)

    @rule(thread_id=threads, as_owner=st.booleans(), title=TITLES)
    def rename(self, thread_id: str, as_owner: bool, title: str) -> None:
        user = self._caller(thread_id, as_owner)
        if thread_id not in self.model or user != self.model[thread_id].owner:
            with pytest.raises(ThreadNotFound):
                self.desk.threads.update(thread_id, title=title, user_id=user)
            return
        if len(title) > 200:
            with pytest.raises(InvalidArgument):
                self.desk.threads.update(thread_id, title=title, user_id=user)
            return
        self.desk.threads.update(thread_id, title=title, user_id=user)
        if title.strip():  # a blank title leaves the current one
            self.model[thread_id].title = title.strip()

    @rule(thread_id=threads, as_owner=st.booleans(), tags=TAGS)
    def tag(self, thread_id: str, as_owner: bool, tags: dict) -> None:
        user = self._caller(thread_id, as_owner)
        if thread_id not in self.model or user != self.model[thread_id].owner:
            with pytest.raises(ThreadNotFound):
                self.desk.threads.update(thread_id, metadata=tags, user_id=user)
            return
        self.desk.threads.update(thread_id, metadata=tags, user_id=user)
        for key, value in tags.items():
            if value is None:
                self.model[thread_id].metadata.pop(key, None)
            else:
                self.model[thread_id].metadata[key] = value

    @rule(thread_id=consumes(threads), as_owner=st.booleans())
    def delete(self, thread_id: str, as_owner: bool) -> None:
        user = self._caller(thread_id, as_owner)
        if thread_id not in self.model or user != self.model[thread_id].owner:
            with pytest.raises(ThreadNotFound):
                self.desk.threads.delete(thread_id, user_id=user)
            return
        self.desk.threads.delete(thread_id, user_id=user)
        del self.model[thread_id]

    @rule(seconds=st.integers(min_value=1, max_value=3 * 86400))
    def time_passes(self, seconds: int) -> None:
        self.clock.now += timedelta(seconds=seconds)

    @rule(idle_for=st.sampled_from(sorted(IDLE)), dry_run=st.booleans())
    def cleanup(self, idle_for: str, dry_run: bool) -> None:
        cutoff = self.clock() - IDLE[idle_for]
        expired = {tid for tid, thread in self.model.items() if thread.last_active < cutoff}
        removed = self.desk.threads.cleanup(idle_for, dry_run=dry_run)
        assert {thread.thread_id for thread in removed} == expired
        if not dry_run:
            for thread_id in expired:
                del self.model[thread_id]

    def _caller(self, thread_id: str, as_owner: bool) -> str:
        owner = self.model[thread_id].owner if thread_id in self.model else "alice"
        return owner if as_owner else USERS[(USERS.index(owner) + 1) % len(USERS)]

    # -- what must hold after every step -----------------------------------------------------------

    @invariant()
    def threads_agree_with_the_model(self) -> None:
        listed = self.desk.threads.list(limit=MAX_PAGE_SIZE).threads
        assert {thread.thread_id for thread in listed} == set(self.model)
        for thread in listed:
            expected = self.model[thread.thread_id]
            assert (thread.user_id, thread.title, thread.metadata) == (
                expected.owner,
                expected.title,
                expected.metadata,
            )
            assert thread.message_count == len(expected.messages)
            assert thread.last_active_at == expected.last_active

    @invariant()
    def each_user_lists_exactly_their_threads(self) -> None:
        for user in USERS:
            listed = self.desk.threads.list(user_id=user, limit=MAX_PAGE_SIZE).threads
            assert {t.thread_id for t in listed} == {tid for tid, t in self.model.items() if t.owner == user}

    @invariant()
    def histories_are_what_was_said(self) -> None:
        for thread_id, expected in self.model.items():
            history = self.desk.history(thread_id, user_id=expected.owner)
            assert [(m.role, m.content) for m in history] == expected.messages


class SqliteDesk(DeskMachine):
    def open_url(self) -> str:
        folder = self.resources.enter_context(tempfile.TemporaryDirectory())
        return str(Path(folder) / "desk.sqlite")


class PostgresDesk(DeskMachine):
    def open_url(self) -> str:
        return self.resources.enter_context(recycled_postgres_schema())


BOUNDS = settings(
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_sqlite_desk_matches_the_model() -> None:
    SqliteDesk.TestCase.settings = BOUNDS
    SqliteDesk.TestCase().runTest()


def test_postgres_desk_matches_the_model() -> None:
    require_postgres()
    PostgresDesk.TestCase.settings = settings(BOUNDS, max_examples=15)
    PostgresDesk.TestCase().runTest()
