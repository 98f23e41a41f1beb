"""The web side of handoffs: the agents' queue as a thread listing, and who a LangGraph run answers as.

`GET /threads?status=interrupted` from an agent or admin is the queue (every customer's interrupted
threads, waiting longest first); its `next_cursor` is an offset (`inbox:N`), not the keyset cursor of
the usual listing, since the queue runs oldest first. A run whose only content is
`command.resume` from an agent or admin answers a handed-over thread: it reaches any thread, and the
reply is stamped with the caller's name (`responder`); anything more in the run (input,
`command.update`, `goto`) is a write, kept to the caller's own threads.
"""

from __future__ import annotations

from typing import Any

from threaddesk.errors import InvalidArgument
from threaddesk.service import SupportDesk
from threaddesk.users import User
from threaddesk.web import compat

CURSOR_PREFIX = "inbox:"


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    number = cursor.removeprefix(CURSOR_PREFIX)
    if not cursor.startswith(CURSOR_PREFIX) or not number.isdigit() or len(number) > 12:
        raise InvalidArgument(f"invalid cursor {cursor!r}")
    return int(number)


async def queue_page(desk: SupportDesk, *, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """One page of the agents' queue and the cursor of the next (None on the last)."""
    offset = _offset(cursor)
    threads = await desk.inbox(limit=limit + 1, offset=offset)
    more = len(threads) > limit
    return threads[:limit], f"{CURSOR_PREFIX}{offset + limit}" if more else None


def answers_handoff(body: compat.RunCreate, user: User) -> bool:
    """Whether this run is a human agent answering: only `command.resume`, from an agent or admin."""
    command = body.command
    return (
        user.is_agent
        and command is not None
        and command.resume is not None
        and body.input is None
        and command.update is None
        and not command.goto
    )


def run_as(options: dict[str, Any], body: compat.RunCreate, user: User) -> dict[str, Any]:
    """`SupportDesk.run` options for this caller: an answering agent reaches the thread as `responder`."""
    if answers_handoff(body, user):
        return {**options, "user_id": None, "responder": user.name}
    return options
