"""`threaddesk threads ...`: look at and administer the stored threads.

These commands act on any thread in the database by id (an operator's view);
`--user` narrows `list`. An unknown id is an error (exit 3), never created.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from threaddesk.cli.errors import ExitCode, fail
from threaddesk.cli.options import JsonOption, ThreadIdArg, duration_option
from threaddesk.cli.output import (
    console,
    echo_json,
    idle_phrase,
    print_messages,
    thread_details,
    thread_table,
)
from threaddesk.cli.state import cli_state
from threaddesk.threads.models import MAX_PAGE_SIZE

app = typer.Typer(
    name="threads",
    help="List, inspect, rename, tag, delete and expire threads.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

# Cleanups removing at least this many threads show a progress bar (on a terminal).
PROGRESS_THRESHOLD = 20


def _plural(count: int, word: str = "thread") -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@app.command("list")
def list_threads(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", "-u", help="Only this user's threads.")] = None,
    idle_for: Annotated[
        timedelta | None, duration_option("--idle-for", help="Only threads idle at least this long")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help=f"At most this many (1-{MAX_PAGE_SIZE}).")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Threads, most recently active first."""
    with cli_state(ctx).open_admin_desk() as desk:
        page = desk.threads.list(user_id=user, inactive_since=idle_for, limit=limit)
    if as_json:
        echo_json([thread.to_dict() for thread in page.threads])
        return
    out = console()
    if not page.threads:
        out.print("No threads.")
        return
    out.print(thread_table(page.threads, owners=user is None))
    if page.next_cursor:
        out.print(f"(showing the first {limit}; raise --limit to see more)", style="dim")


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
) -> None:
    """Remove every thread idle longer than --idle-for, with its checkpoints."""
    out = console()
    with cli_state(ctx).open_admin_desk() as desk:
        expired = desk.threads.cleanup(idle_for, dry_run=True)
        if dry_run:
            if expired:
                out.print(thread_table(expired))
            typer.echo(f"Would remove {_plural(len(expired))} {idle_phrase(idle_for)} (dry run).")
            return
        show_bar = len(expired) >= PROGRESS_THRESHOLD and out.is_terminal
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
    users = len({thread.user_id for thread in removed})
    typer.echo(f"Removed {_plural(len(removed))} of {_plural(users, 'user')} {idle_phrase(idle_for)}.")
