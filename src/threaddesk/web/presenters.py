"""Core objects to response bodies, where a thread's live status is decided."""

from __future__ import annotations

from typing import Any

from threaddesk.service import SupportDesk
from threaddesk.threads.models import Thread
from threaddesk.web.schemas import ThreadPublic


def present_thread(desk: SupportDesk, thread: Thread, values: dict[str, Any] | None = None) -> ThreadPublic:
    """The thread as clients see it: `busy` while a turn holds (or waits for) its lock.

    The registry records only how turns ended (idle/error); whether one is
    running right now is known only to this process's locks.
    """
    return ThreadPublic.of(thread, busy=desk.threads.locks.is_locked(thread.thread_id), values=values)
