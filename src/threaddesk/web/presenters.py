"""Core objects to response bodies, where a thread's live status is decided."""

from __future__ import annotations

from typing import Any

from threaddesk.service import SupportDesk
from threaddesk.threads.models import Thread
from threaddesk.web.schemas import ThreadPublic


def present_thread(
    desk: SupportDesk,
    thread: Thread,
    values: dict[str, Any] | None = None,
    interrupts: dict[str, Any] | None = None,
) -> ThreadPublic:
    """The thread as clients see it (its status is live: the manager marks `busy` threads)."""
    return ThreadPublic.of(thread, values=values, interrupts=interrupts)
