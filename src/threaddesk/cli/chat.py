"""`threaddesk chat`: talk to the agent on one thread at a time, switching at will.

On a terminal it is a REPL with slash commands; with stdin piped, every input
line is one turn and only the replies are printed. Memory lives in each thread's
checkpoint, so switching back to a thread recalls what was said there.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import Annotated, TextIO

import typer
from rich.console import Console

from threaddesk.cli.errors import ExitCode, fail
from threaddesk.cli.options import UserOption
from threaddesk.cli.output import console, print_messages, thread_table
from threaddesk.cli.state import cli_state
from threaddesk.errors import InvalidArgument, StorageUnavailable, ThreadDeskError, ThreadExists
from threaddesk.ids import validate_user_id
from threaddesk.service import Reply, Token
from threaddesk.sync import ThreadDesk
from threaddesk.threads import Thread

DEFAULT_HISTORY = 10
HELP = """\
/new [TITLE]     start a new thread (and switch to it)
/switch ID       switch to another of your threads (Tab completes ids)
/threads         list your threads
/history [N]     the last N messages of this thread (default 10)
/rename TITLE    rename this thread
/whoami          who you are, which thread you are on
/help            this help
/quit            leave (Ctrl-D works too)
Anything else is a message to the agent on the current thread."""


def chat(
    ctx: typer.Context,
    user: UserOption = None,
    thread: Annotated[
        str | None,
        typer.Option("--thread", "-t", help="Talk on this thread; created for you if it does not exist yet."),
    ] = None,
    new: Annotated[bool, typer.Option("--new", help="Start a new thread.")] = False,
) -> None:
    """Chat with the agent. Without --thread or --new, resumes your most recent thread.

    On a terminal: an interactive session with /commands (/help lists them).
    With stdin piped: each line is one message, and only the replies are printed.
    """
    if thread is not None and new:
        fail("--thread and --new cannot be used together")
    state = cli_state(ctx)
    user = validate_user_id(user or state.settings.user)
    with state.open_desk() as desk:
        current, started = _start_thread(desk, user, thread, new)
        if sys.stdin.isatty():
            Repl(desk, user, current, console()).run()
            return
        if started and thread is None:
            typer.echo(f"thread {current.thread_id}", err=True)
        answer_lines(desk, user, current.thread_id, sys.stdin, sys.stdout)


def _start_thread(desk: ThreadDesk, user: str, thread_id: str | None, new: bool) -> tuple[Thread, bool]:
    """The thread to talk on, and whether it was created just now."""
    if thread_id is not None:
        try:
            thread = desk.threads.create(user, thread_id, if_exists="get")
        except ThreadExists:
            fail(f"thread {thread_id!r} belongs to another user: choose another id", ExitCode.CONFLICT)
        return thread, thread.message_count == 0 and thread.created_at == thread.last_active_at
    if not new:
        latest = desk.threads.list(user_id=user, limit=1).threads
        if latest:
            return latest[0], False
    return desk.threads.new_conversation(user), True


def stream_reply(desk: ThreadDesk, thread_id: str, text: str, user: str, out: TextIO) -> Reply:
    """Write the reply to `out` token by token as the model produces it; return the `Reply`."""
    reply: Reply | None = None
    for event in desk.stream(thread_id, text, user_id=user):
        if isinstance(event, Token):
            out.write(event.text)
            out.flush()
        else:
            reply = event
    out.write("\n")
    out.flush()
    assert reply is not None, "SupportDesk.stream always ends with the Reply"
    return reply


def answer_lines(desk: ThreadDesk, user: str, thread_id: str, lines: Iterable[str], out: TextIO) -> None:
    """Non-interactive chat: every non-blank line is one turn; print only the replies."""
    for line in lines:
        text = line.rstrip("\r\n")
        if text.strip():
            stream_reply(desk, thread_id, text, user, out)


class Repl:
    """The interactive session: one current thread, slash commands to move between threads."""

    def __init__(self, desk: ThreadDesk, user: str, thread: Thread, out: Console) -> None:
        self.desk = desk
        self.user = user
        self.thread = thread
        self.out = out
        self.commands: dict[str, Callable[[str], None]] = {
            "/new": self.new,
            "/switch": self.switch,
            "/threads": self.threads,
            "/history": self.history,
            "/rename": self.rename,
            "/whoami": self.whoami,
            "/help": self.help,
        }

    @property
    def prompt(self) -> str:
        return f"{self.thread.thread_id}> "

    def run(self) -> None:
        _enable_completion(self.complete)
        self.out.print(
            f"Chatting as [bold]{self.user}[/] on thread [bold]{self.thread.thread_id}[/]. "
            "/help lists the commands.",
            highlight=False,
        )
        while True:
            try:
                line = input(self.prompt).strip()
            except EOFError:
                self.out.print()
                return
            except KeyboardInterrupt:
                self.out.print()
                continue
            if not line:
                continue
            if line in ("/quit", "/exit"):
                return
            try:
                self.handle(line)
            except KeyboardInterrupt:
                self.out.print("\n(interrupted)")
            except StorageUnavailable:
                raise  # nothing more can work: leave with its exit code
            except ThreadDeskError as error:
                self.out.print(f"error: {error}", style="red", markup=False, highlight=False)

    def handle(self, line: str) -> None:
        if not line.startswith("/"):
            self.thread = stream_reply(self.desk, self.thread.thread_id, line, self.user, sys.stdout).thread
            return
        name, _, argument = line.partition(" ")
        command = self.commands.get(name)
        if command is None:
            raise InvalidArgument(f"unknown command {name}: /help lists the commands")
        command(argument.strip())

    def new(self, title: str) -> None:
        self.thread = self.desk.threads.new_conversation(self.user, title=title or None)
        self.out.print(f"New thread {self.thread.thread_id}.", markup=False)

    def switch(self, thread_id: str) -> None:
        if not thread_id:
            raise InvalidArgument("usage: /switch ID")
        self.thread = self.desk.threads.get(thread_id, user_id=self.user)
        title = f" ({self.thread.title})" if self.thread.title else ""
        self.out.print(
            f"Switched to {self.thread.thread_id}{title}, {self.thread.message_count} messages.", markup=False
        )

    def threads(self, _: str) -> None:
        page = self.desk.threads.list(user_id=self.user, limit=100)
        self.out.print(thread_table(page.threads, current=self.thread.thread_id, owners=False))

    def history(self, argument: str) -> None:
        try:
            count = int(argument) if argument else DEFAULT_HISTORY
        except ValueError:
            raise InvalidArgument(f"usage: /history [N], N a whole number, got {argument!r}") from None
        messages = self.desk.history(self.thread.thread_id, user_id=self.user, limit=count)
        if not print_messages(self.out, messages):
            self.out.print("No messages yet.")

    def rename(self, title: str) -> None:
        if not title:
            raise InvalidArgument("usage: /rename TITLE")
        self.thread = self.desk.threads.update(self.thread.thread_id, title=title, user_id=self.user)
        self.out.print(f"Renamed to {self.thread.title!r}.", markup=False)

    def whoami(self, _: str) -> None:
        thread = self.desk.threads.get(self.thread.thread_id, user_id=self.user)
        title = f" ({thread.title})" if thread.title else ""
        self.out.print(
            f"user {self.user}, thread {thread.thread_id}{title}, {thread.message_count} messages",
            markup=False,
        )

    def help(self, _: str) -> None:
        self.out.print(HELP, markup=False)

    def complete(self, line: str, text: str) -> list[str]:
        """Completions of the word `text` on `line`: command names, or thread ids after /switch."""
        if line.startswith("/switch ") and len(line.split()) <= 2:
            page = self.desk.threads.list(user_id=self.user, limit=1000)
            return [t.thread_id for t in page.threads if t.thread_id.startswith(text)]
        if " " not in line:
            return [name for name in [*self.commands, "/quit"] if name.startswith(text)]
        return []


def _enable_completion(complete: Callable[[str, str], list[str]]) -> None:
    """Tab completion through readline, where the platform has it."""
    try:
        import readline
    except ImportError:
        return
    matches: list[str] = []

    def completer(text: str, index: int) -> str | None:
        nonlocal matches
        if index == 0:
            try:
                matches = complete(readline.get_line_buffer().lstrip(), text)
            except ThreadDeskError:
                matches = []
        return matches[index] if index < len(matches) else None

    readline.set_completer(completer)
    readline.set_completer_delims(" \t\n")
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
