"""How threads and messages look on a terminal (rich) and in scripts (JSON)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.text import Text

from threaddesk.cli.tables import Column, fit_table, one_line, print_table
from threaddesk.durations import format_duration, rough_duration
from threaddesk.threads.models import Thread, utc_now

if TYPE_CHECKING:
    from threaddesk.service import ChatMessage
    from threaddesk.threads.search import SearchHit

_SPEAKERS = {"user": "you", "assistant": "agent"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LABEL_WIDTH = 24


def console(*, stderr: bool = False) -> Console:
    """A console on the current stdout/stderr (made per use, so tests can capture it)."""
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def describe_database(url: str) -> str:
    """Where `url` leads, as a person should read it (see `threaddesk.service.database_location`)."""
    from threaddesk.service import database_location

    return database_location(url)


def ago(moment: datetime, now: datetime | None = None) -> str:
    """`3m ago`, `2d ago`: the largest whole unit, for a glance at idleness."""
    return f"{rough_duration((now or utc_now()) - moment)} ago"


def _tags(metadata: dict[str, Any]) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted(metadata.items()))


def ellipsize(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def thread_label(thread: Thread) -> str:
    """A short name for the thread: its title, else its id (a generated UUID cut to 8 characters)."""
    if thread.title:
        return ellipsize(one_line(thread.title), LABEL_WIDTH)
    if _UUID.fullmatch(thread.thread_id):
        return thread.thread_id[:8]
    return ellipsize(thread.thread_id, LABEL_WIDTH)


def print_thread_table(
    out: Console, threads: Sequence[Thread], *, current: str | None = None, owners: bool = True
) -> None:
    """One line per thread, fitted to the console's width; `current` is marked with `*`."""
    columns = [Column("thread")]
    if owners:
        columns.append(Column("user", flexible=True))
    columns += [
        Column("title", flexible=True),
        Column("msgs", justify="right"),
        Column("last active"),
        Column("tags", flexible=True),
    ]
    if current is not None:
        columns.insert(0, Column(""))
    now = utc_now()
    rows = []
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
        rows.append(row)
    print_table(out, fit_table(columns, rows, out.width))


def print_search_hits(out: Console, hits: Sequence[SearchHit], *, owners: bool = True) -> None:
    """Two lines per message found: its thread (owner, title), then who said it and the words around it.

    Not a table: the words around the match need the whole width, and a cell cut
    at its end could hide the very word searched for.
    """
    for hit in hits:
        thread = hit.thread
        about = [thread.user_id] if owners else []
        if thread.title:
            about.append(one_line(thread.title))
        heading = Text(thread.thread_id, style="bold")
        if about:
            heading.append("  " + ellipsize("  ".join(about), max(8, out.width - len(thread.thread_id) - 2)))
        speaker = _SPEAKERS.get(hit.message.role, hit.message.role)
        line = Text.assemble("  ", (f"{speaker}: ", "cyan" if hit.message.role == "user" else "green"))
        line.append(hit.snippet(max(20, out.width - line.cell_len)))
        out.print(heading, crop=False)
        out.print(line, crop=False)


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


def thread_markdown(thread: Thread, messages: Iterable[ChatMessage]) -> str:
    """The thread as a Markdown document: a heading, its details, then one quoted section per message."""
    lines = [
        f"# {one_line(thread.title or thread.thread_id)}",
        "",
        f"- thread: `{thread.thread_id}`",
        f"- user: {thread.user_id}",
        f"- status: {thread.status}",
        f"- created: {thread.created_at:%Y-%m-%d %H:%M:%S} UTC",
        f"- last active: {thread.last_active_at:%Y-%m-%d %H:%M:%S} UTC",
        f"- messages: {thread.message_count}",
    ]
    if thread.metadata:
        lines.append(f"- tags: {_tags(thread.metadata)}")
    for message in messages:
        # Quoted, so a message can never pose as a heading of the document.
        quoted = [f"> {line}".rstrip() for line in _words(message).strip().splitlines()] or [">"]
        lines += ["", f"## {_SPEAKERS.get(message.role, message.role)}", "", *quoted]
    return "\n".join(lines) + "\n"


def _words(message: ChatMessage) -> str:
    """What a message says; an agent's tool calls, when it said nothing else, as `→ lookup_order(...)`."""
    if message.tool_calls and not message.content.strip():
        return "\n".join(f"→ {call}" for call in message.tool_calls)
    return message.content


def print_messages(out: Console, messages: Iterable[ChatMessage]) -> int:
    """`you: ...` / `agent: ...` lines (`NAME (human agent): ...` for a person of the team; tool calls
    and results dimmed); returns how many were printed."""
    count = 0
    for message in messages:
        speaker = _SPEAKERS.get(message.role, message.role)
        if message.author is not None:
            speaker = f"{message.author} (human agent)"
        style = "cyan" if message.role == "user" else "magenta" if message.author else "green"
        internal = message.role == "tool" or (message.tool_calls and not message.content.strip())
        words = Text(_words(message), style="dim" if internal else "")
        out.print(Text.assemble((f"{speaker}: ", f"bold {style}"), words), soft_wrap=True)
        count += 1
    return count


def idle_phrase(max_idle: timedelta) -> str:
    return f"idle for more than {format_duration(max_idle)}"
