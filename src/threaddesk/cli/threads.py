"""`threaddesk threads ...`: look at and administer the stored threads.

These commands act on any thread in the database by id (an operator's view);
`--user` narrows `list`. An unknown id is an error (exit 3), never created.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from enum import StrEnum
from typing import Annotated

import typer

from threaddesk.cli.errors import ExitCode, fail
from threaddesk.cli.options import JsonOption, ThreadIdArg, UserFilterOption, duration_option
from threaddesk.cli.output import (
    console,
    echo_json,
    idle_phrase,
    print_messages,
    print_search_hits,
    print_thread_table,
    thread_details,
    thread_markdown,
)
from threaddesk.cli.state import cli_state
from threaddesk.threads.models import MAX_PAGE_SIZE, Thread, ThreadStatus
from threaddesk.threads.search import MAX_SEARCH_RESULTS

app = typer.Typer(
    name="threads",
    help="List, inspect, rename, tag, delete and expire threads.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DEFAULT_PAGE_SIZE = 50
# Cleanups removing at least this many threads show a progress bar (on a terminal).
PROGRESS_THRESHOLD = 20


QUEUE_CURSOR = "inbox:"


def _queue_offset(cursor: str | None) -> int:
    """The handoff queue's cursor is a position in it (the queue runs oldest first)."""
    if cursor is None:
        return 0
    number = cursor.removeprefix(QUEUE_CURSOR)
    if not cursor.startswith(QUEUE_CURSOR) or not number.isdigit() or len(number) > 12:
        fail(f"invalid --cursor {cursor!r} for the handoff queue")
    return int(number)


def _plural(count: int, word: str = "thread") -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _tag_filter(pairs: list[str]) -> dict[str, str]:
    """`--tag KEY=VALUE` options as a metadata filter (every pair must match)."""
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"invalid --tag {pair!r}: use KEY=VALUE")
        tags[key.strip()] = value
    return tags


@app.command("list")
def list_threads(
    ctx: typer.Context,
    user: UserFilterOption = None,
    status: Annotated[
        ThreadStatus | None, typer.Option("--status", help="Only threads with this status.")
    ] = None,
    tags: Annotated[
        list[str] | None,
        typer.Option("--tag", metavar="KEY=VALUE", help="Only threads with this tag (repeat: all of them)."),
    ] = None,
    title: Annotated[
        str | None,
        typer.Option(
            "--title", help="Only threads whose title contains this (ignoring case).", show_default=False
        ),
    ] = None,
    idle_for: Annotated[
        timedelta | None, duration_option("--idle-for", help="Only threads idle at least this long")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit",
            "-n",
            show_default=False,
            help=f"At most this many per page (1-{MAX_PAGE_SIZE})"
            f" [default: {DEFAULT_PAGE_SIZE}; with --all, {MAX_PAGE_SIZE}].",
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        typer.Option(
            "--cursor", help="Continue after the page that printed this cursor.", show_default=False
        ),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every matching thread, page after page.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Threads, most recently active first, a page at a time (--cursor, --all for more).

    `--status interrupted` alone is the handoff queue: every customer's threads waiting for a
    person, the one waiting longest first.
    """
    metadata = _tag_filter(tags or [])
    found: list[Thread] = []
    queue = status is ThreadStatus.INTERRUPTED and not (user or metadata or title or idle_for)
    with cli_state(ctx).open_admin_desk() as desk:
        while queue:
            size = limit if limit is not None else (MAX_PAGE_SIZE if every else DEFAULT_PAGE_SIZE)
            offset = _queue_offset(cursor)
            queued = desk.inbox(limit=size + 1, offset=offset)
            found += queued[:size]
            cursor = f"{QUEUE_CURSOR}{offset + size}" if len(queued) > size else None
            if not every or cursor is None:
                break
        while not queue:
            page = desk.threads.list(
                user_id=user,
                status=status,
                metadata=metadata,
                inactive_since=idle_for,
                limit=limit if limit is not None else (MAX_PAGE_SIZE if every else DEFAULT_PAGE_SIZE),
                cursor=cursor,
                title=title,
            )
            found += page.threads
            cursor = page.next_cursor
            if not every or cursor is None:
                break
    if cursor is not None:
        typer.echo(f"More threads: rerun with --cursor {cursor} (or --all).", err=True)
    if as_json:
        echo_json([thread.to_dict() for thread in found])
        return
    out = console()
    if not found:
        out.print("No threads.")
        return
    print_thread_table(out, found, owners=user is None)


@app.command()
def show(ctx: typer.Context, thread_id: ThreadIdArg, as_json: JsonOption = False) -> None:
    """One thread's owner, title, status, activity and tags."""
    with cli_state(ctx).open_admin_desk() as desk:
        thread = desk.threads.get(thread_id)
    if as_json:
        echo_json(thread.to_dict())
    else:
        console().print(thread_details(thread))


@app.command()
def history(
    ctx: typer.Context,
    thread_id: ThreadIdArg,
    last: Annotated[int | None, typer.Option("--last", "-n", min=0, help="Only the last N messages.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The messages stored in a thread's checkpoint, oldest first."""
    with cli_state(ctx).open_admin_desk() as desk:
        messages = desk.history(thread_id, limit=last)
    if as_json:
        echo_json([message.to_dict() for message in messages])
    elif not print_messages(console(), messages):
        console().print("No messages yet.")


@app.command()
def search(
    ctx: typer.Context,
    text: Annotated[
        str, typer.Argument(metavar="TEXT", help="Words to find (all of them).", show_default=False)
    ],
    user: UserFilterOption = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help=f"At most this many messages (1-{MAX_SEARCH_RESULTS}).")
    ] = 20,
    as_json: JsonOption = False,
) -> None:
    """Messages that say TEXT, best match first: each word matches words starting with it, any case."""
    with cli_state(ctx).open_admin_desk() as desk:
        hits = desk.search(text, user_id=user, limit=limit)
    if as_json:
        echo_json([hit.to_dict() for hit in hits])
        return
    out = console()
    if not hits:
        out.print("No messages found.")
        return
    print_search_hits(out, hits, owners=user is None)


class ExportFormat(StrEnum):
    JSON = "json"
    MARKDOWN = "markdown"


@app.command()
def export(
    ctx: typer.Context,
    thread_id: ThreadIdArg,
    format: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="json (for programs) or markdown (for people).")
    ] = ExportFormat.JSON,
) -> None:
    """A whole thread, its details and every message, on stdout (redirect it to a file)."""
    with cli_state(ctx).open_admin_desk() as desk:
        thread = desk.threads.get(thread_id)
        messages = desk.history(thread_id)
    if format is ExportFormat.JSON:
        echo_json({"thread": thread.to_dict(), "messages": [message.to_dict() for message in messages]})
    else:
        typer.echo(thread_markdown(thread, messages), nl=False)


class Then(StrEnum):
    STAY = "stay"
    BOT = "bot"
    CLOSE = "close"


@app.command()
def reply(
    ctx: typer.Context,
    thread_id: ThreadIdArg,
    text: Annotated[
        str | None,
        typer.Argument(help="The reply (stored as the agent's); omit it with --hand-back or --close."),
    ] = None,
    agent: Annotated[
        str,
        typer.Option("--as", metavar="AGENT", help="The agent (or admin) answering; the reply is theirs."),
    ] = ...,  # type: ignore[assignment]
    hand_back: Annotated[
        bool, typer.Option("--hand-back", help="Then hand the conversation back to the assistant.")
    ] = False,
    close: Annotated[bool, typer.Option("--close", help="Then close the conversation.")] = False,
    interrupt_id: Annotated[
        str | None,
        typer.Option(
            "--interrupt", help="Answer this interrupt only (conflict if it was answered meanwhile)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a thread handed to a person, as a human agent (LangGraph's Command(resume=...)).

    Without --hand-back or --close the conversation stays with the team: the customer's next
    message waits for a person again. Another agent answered first: exit 5 (conflict).
    """
    if hand_back and close:
        fail("choose one of --hand-back and --close")
    then = Then.BOT if hand_back else Then.CLOSE if close else Then.STAY
    if text is None and then is Then.STAY:
        fail("give the reply TEXT, or --hand-back or --close")
    with cli_state(ctx).open_admin_desk() as desk:
        answered = desk.reply(thread_id, text, agent=agent, then=then.value, interrupt_id=interrupt_id)
    if as_json:
        echo_json({"thread": answered.thread.to_dict(), "message": answered.message.to_dict()})
        return
    done = {Then.STAY: "Replied", Then.BOT: "Handed back to the assistant", Then.CLOSE: "Closed"}[then]
    typer.echo(f"{done}: {answered.thread.thread_id} is {answered.thread.status}.")


@app.command()
def rename(
    ctx: typer.Context,
    thread_id: ThreadIdArg,
    title: Annotated[str, typer.Argument(help="The new title.", show_default=False)],
) -> None:
    """Give a thread a new title."""
    if not title.strip():
        fail("the title must not be empty")
    with cli_state(ctx).open_admin_desk() as desk:
        thread = desk.threads.update(thread_id, title=title)
    typer.echo(f"Renamed {thread.thread_id} to {thread.title!r}.")


def _parse_tags(pairs: list[str]) -> dict[str, str | None]:
    tags: dict[str, str | None] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"invalid tag {pair!r}: use key=value (key= removes the tag)")
        tags[key.strip()] = value or None
    return tags


@app.command()
def tag(
    ctx: typer.Context,
    thread_id: ThreadIdArg,
    pairs: Annotated[
        list[str],
        typer.Argument(metavar="KEY=VALUE...", help="Tags to set; KEY= removes one.", show_default=False),
    ],
) -> None:
    """Set or remove tags (the thread's metadata)."""
    tags = _parse_tags(pairs)
    with cli_state(ctx).open_admin_desk() as desk:
        thread = desk.threads.update(thread_id, metadata=tags)
    shown = " ".join(f"{key}={value}" for key, value in sorted(thread.metadata.items())) or "(none)"
    typer.echo(f"Tags of {thread.thread_id}: {shown}")


@app.command()
def delete(
    ctx: typer.Context,
    thread_id: ThreadIdArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a thread and its whole memory (its checkpoints). Asks first unless --yes."""
    with cli_state(ctx).open_admin_desk() as desk:
        thread = desk.threads.get(thread_id)
        if not yes:
            if not sys.stdin.isatty():
                fail(f"not deleting {thread_id} without confirmation: pass --yes to delete non-interactively")
            prompt = (
                f"Delete thread {thread_id} of {thread.user_id} ({_plural(thread.message_count, 'message')})?"
            )
            if not typer.confirm(prompt, default=False):
                typer.echo("Nothing deleted.", err=True)
                raise typer.Exit(ExitCode.FAILURE)
        desk.threads.delete(thread_id)
    typer.echo(f"Deleted {thread_id}.")


@app.command()
def cleanup(
    ctx: typer.Context,
    idle_for: Annotated[
        timedelta, duration_option("--idle-for", help="Remove threads idle longer than this")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be removed.")] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the threads removed (or, with --dry-run, to remove) as JSON."),
    ] = False,
) -> None:
    """Remove every thread idle longer than --idle-for, with its checkpoints."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    out = console()
    with cli_state(ctx).open_admin_desk() as desk:
        expired = desk.threads.cleanup(idle_for, dry_run=True)
        if dry_run:
            if as_json:
                echo_json([thread.to_dict() for thread in expired])
                return
            if expired:
                print_thread_table(out, expired)
            typer.echo(f"Would remove {_plural(len(expired))} {idle_phrase(idle_for)} (dry run).")
            return
        show_bar = len(expired) >= PROGRESS_THRESHOLD and out.is_terminal and not as_json
        with Progress(
            TextColumn("Removing idle threads"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=out,
            transient=True,
            disable=not show_bar,
        ) as progress:
            task = progress.add_task("cleanup", total=len(expired))
            removed = desk.threads.cleanup(idle_for, on_removed=lambda _: progress.advance(task))
    if as_json:
        echo_json([thread.to_dict() for thread in removed])
        return
    users = len({thread.user_id for thread in removed})
    typer.echo(f"Removed {_plural(len(removed))} of {_plural(users, 'user')} {idle_phrase(idle_for)}.")
