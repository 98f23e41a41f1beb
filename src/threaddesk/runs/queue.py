"""A background run as a queue entry: what a worker in any process needs to run it, stored in its row.

A background run is a row `pending` in the runs table with the run's whole
request (`QueuedRun`, serialised by LangGraph's own checkpoint serializer, which
round-trips messages, `Command` and `Send`). Any process whose desk runs a
worker claims it (`RunStore.claim`), so the run does not depend on the process
that accepted it: see docs/deployment.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.types import Command

from threaddesk.runs.models import Run
from threaddesk.runs.request import RunRequest

_SERDE = JsonPlusSerializer()
_TUPLES = ("stream_mode", "tags")


@dataclass(frozen=True, slots=True)
class QueuedRun:
    """A background run as stored for its worker: the request, and for whom it runs.

    `wait=False` (LangGraph's `reject`) was checked when the run was made;
    `temporary` threads (stateless runs) are deleted once the run has ended.
    """

    request: RunRequest
    user_id: str | None = None
    wait: bool = True
    temporary: bool = False
    responder: str | None = None  # the human agent a resume answers as (see `threaddesk.handoff`)

    def encode(self) -> bytes:
        fields = {field.name: getattr(self.request, field.name) for field in dataclasses.fields(RunRequest)}
        kind, data = _SERDE.dumps_typed(
            {
                "request": fields,
                "user_id": self.user_id,
                "wait": self.wait,
                "temporary": self.temporary,
                "responder": self.responder,
            }
        )
        return kind.encode() + b"\0" + data

    @classmethod
    def decode(cls, payload: bytes) -> QueuedRun:
        kind, _, data = bytes(payload).partition(b"\0")
        stored: dict[str, Any] = _SERDE.loads_typed((kind.decode(), data))
        fields = dict(stored["request"])
        for name in _TUPLES:
            fields[name] = tuple(fields[name])
        command = fields.get("command")
        if isinstance(command, Command) and isinstance(command.update, list):
            # msgpack keeps tuples as lists; LangGraph reads [key, value] pairs only as tuples
            update = [tuple(pair) if isinstance(pair, list) else pair for pair in command.update]
            fields["command"] = dataclasses.replace(command, update=update)
        return cls(
            RunRequest(**fields),
            stored["user_id"],
            stored["wait"],
            stored["temporary"],
            stored.get("responder"),
        )


class RunTakenOver(Exception):
    """The claimed run is no longer this worker's (finished by a process thought dead, or claimed by
    another after this one's lease ran out): it must not run, and nothing of its thread be undone."""


@dataclass(frozen=True, slots=True)
class Claim:
    """A queued run a worker has taken: its row (now `running`, `attempts` counting this one) and request."""

    run: Run
    payload: bytes

    @property
    def retried(self) -> bool:
        """A server ran it before and died: what it left half-done must be undone first."""
        return self.run.attempts > 1


class FreshClaims:
    """The runs a store has just claimed, so the `start` that follows each claim need not write again.

    A claim sets the row `running` under the worker's lease; the worker then starts the run
    (`RunStore.start(..., worker=...)`), which re-checks that the row is still its own. Nothing but a
    takeover (another worker, once the lease has run out), a delete or the worker itself changes a
    claimed row, so within the first third of the claim's lease (by the desk's clock, as the lease
    is) the row is known to be the worker's still: its start is answered here, one statement (and,
    on SQLite, one worker-thread hop) fewer per background run. Later starts go to the database.
    A run whose thread was deleted meanwhile then fails at its turn (the thread is gone) instead.
    """

    LIMIT = 10_000  # claims never started (given up, unreadable) are forgotten past this many

    def __init__(self) -> None:
        self._claims: dict[str, tuple[str, datetime]] = {}

    def claimed(self, run_id: str, worker: str, now: datetime, lease_until: datetime) -> None:
        if len(self._claims) >= self.LIMIT:
            self._claims.clear()
        self._claims[run_id] = (worker, now + (lease_until - now) / 3)

    def started(self, run_id: str, worker: str | None, at: datetime) -> bool:
        """Whether `worker` starting `run_id` at `at` may skip the database (and forget the claim)."""
        claim = self._claims.pop(run_id, None)
        return claim is not None and worker is not None and claim[0] == worker and at < claim[1]

    def forget(self, run_id: str) -> None:
        self._claims.pop(run_id, None)
