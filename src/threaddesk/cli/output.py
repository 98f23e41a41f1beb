"""How threads and messages look on a terminal (rich) and in scripts (JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from threaddesk.durations import format_duration, rough_duration
from threaddesk.service import ChatMessage
from threaddesk.threads import Thread
from threaddesk.threads.models import utc_now

_SPEAKERS = {"user": "you", "assistant": "agent"}


def console(*, stderr: bool = False) -> Console:
    """A console on the current stdout/stderr (made per use, so tests can capture it)."""
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def ago(moment: datetime, now: datetime | None = None) -> str:
    """`3m ago`, `2d ago`: the largest whole unit, for a glance at idleness."""
    return f"{rough_duration((now or utc_now()) - moment)} ago"


def _tags(metadata: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted(metadata.items()))


def thread_table(threads: Sequence[Thread], *, current: str | None = None, owners: bool = True) -> Table:
    """One row per thread; `current` is marked with `*`."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    if current is not None:
        table.add_column("", width=1)
    table.add_column("thread", no_wrap=True, overflow="fold")
    if owners:
        table.add_column("user", overflow="fold")
    table.add_column("title", overflow="fold")
    table.add_column("msgs", justify="right")
    table.add_column("last active", no_wrap=True)
    table.add_column("tags", overflow="fold")
    now = utc_now()
    for thread in threads:
        row = [thread.thread_id]
        if owners:
            row.append(thread.user_id)
        row += [
            thread.title or "",
            str(thread.message_count),
            ago(thread.last_active_at, now),
            _tags(thread.metadata),
        ]
        if current is not None:
            row.insert(0, "*" if thread.thread_id == current else "")
        table.add_row(*(Text(cell) for cell in row))
    return table


def thread_details(thread: Thread) -> Text:
    """`name  value` lines, names aligned."""
    now = utc_now()
    fields = [
        ("thread", thread.thread_id),
        ("user", thread.user_id),
        ("title", thread.title or ""),
        ("status", str(thread.status)),
        ("messages", str(thread.message_count)),
        ("created", f"{thread.created_at:%Y-%m-%d %H:%M:%S} UTC ({ago(thread.created_at, now)})"),
        ("last active", f"{thread.last_active_at:%Y-%m-%d %H:%M:%S} UTC ({ago(thread.last_active_at, now)})"),
        ("tags", _tags(thread.metadata)),
    ]
    lines = [Text.assemble((f"{name:<12}", "bold"), value) for name, value in fields]
    for line in lines:
        line.rstrip()
    return Text("\n").join(lines)


def print_messages(out: Console, messages: Iterable[ChatMessage]) -> int:
    """`you: ...` / `agent: ...` lines; returns how many were printed."""
    count = 0
    for message in messages:
        speaker = _SPEAKERS.get(message.role, message.role)
        style = "cyan" if message.role == "user" else "green"
        out.print(Text.assemble((f"{speaker}: ", f"bold {style}"), message.content), soft_wrap=True)
        count += 1
    return count


def idle_phrase(max_idle: timedelta) -> str:
    return f"idle for more than {format_duration(max_idle)}"
