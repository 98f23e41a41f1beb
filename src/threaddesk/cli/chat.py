"""`threaddesk chat`: talk to the agent on one thread at a time, switching at will.

On a terminal it is a REPL with slash commands; with stdin piped, every input
line is one turn and only the replies are printed. Memory lives in each thread's
checkpoint, so switching back to a thread recalls what was said there.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TextIO

import typer
from rich.console import Console

from threaddesk.cli.errors import ExitCode, fail
from threaddesk.cli.options import UserOption, check_user
from threaddesk.cli.output import console, print_messages, print_thread_table, thread_label
from threaddesk.cli.state import cli_state
from threaddesk.errors import (
    InvalidArgument,
    StorageUnavailable,
    ThreadDeskError,
    ThreadExists,
    ThreadNotFound,
)
from threaddesk.ids import new_thread_id
from threaddesk.threads.models import Thread

if TYPE_CHECKING:
    from threaddesk.service import Reply
    from threaddesk.sync import ThreadDesk

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
    title: Annotated[
        str | None, typer.Option("--title", help="The new thread's title (with --new).", show_default=False)
    ] = None,
    graph: Annotated[
        str | None,
        typer.Option(
            "--graph",
            "-g",
            metavar="NAME",
            show_default=False,
            help="Talk to this graph of the --config [default: the thread's own, else the first].",
        ),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option("--config", metavar="FILE", show_default=False, help="Like the global --config."),
    ] = None,
) -> None:
    """Chat with the agent. Without --thread or --new, resumes your most recent thread.

    On a terminal: an interactive session with /commands (/help lists them).
    With stdin piped: each line is one message, and only the replies are printed.
    A thread that does not exist yet is created with the first message it accepts,
    so input that is refused (or blank) leaves nothing behind.
    """
    if thread is not None and new:
        fail("--thread and --new cannot be used together")
    if title is not None and not new:
        fail("--title names a new thread: use it with --new")
    state = cli_state(ctx)
    user = check_user(user if user is not None else state.settings.user)
    with state.open_desk(config=config) as desk:
        _check_graph(desk, graph)
        target = _find_thread(desk, user, thread, new)
        if sys.stdin.isatty():
            current = target.existing or _create(desk, user, target.thread_id, title)
            Repl(desk, user, current, console(), graph_id=graph).run()
            return
        answer_lines(
            desk, user, target, sys.stdin, sys.stdout, title=title, announce=thread is None, graph_id=graph
        )


def _check_graph(desk: ThreadDesk, graph_id: str | None) -> None:
    """`--graph` must name a served graph with a conversation (a `messages` channel) to chat in."""
    graphs = desk.desk.graphs
    served = graphs.default if graph_id is None else graphs.get_served(graph_id)
    if graph_id is not None and not served.has_messages:
        fail(f"graph {graph_id!r} has no messages channel (add_messages): chat needs one; use the HTTP API")


@dataclass(frozen=True, slots=True)
class Target:
    """The thread a chat talks on: one of the user's, or an id to create with the first turn."""

    thread_id: str
    existing: Thread | None = None


def _find_thread(desk: ThreadDesk, user: str, thread_id: str | None, new: bool) -> Target:
    """`--thread ID` (the user's, or free), a new id for `--new`, else the user's latest thread."""
    if thread_id is not None:
        try:
            found = desk.threads.get(thread_id)
        except ThreadNotFound:
            return Target(thread_id)
        if found.user_id != user:
            _belongs_to_another(thread_id)
        return Target(thread_id, found)
    if not new:
        latest = desk.threads.list(user_id=user, limit=1).threads
        if latest:
            return Target(latest[0].thread_id, latest[0])
    return Target(new_thread_id())


def _belongs_to_another(thread_id: str) -> NoReturn:
    fail(f"thread {thread_id!r} belongs to another user: choose another id", ExitCode.CONFLICT)


def _create(desk: ThreadDesk, user: str, thread_id: str, title: str | None) -> Thread:
    try:
        return desk.threads.create(user, thread_id, title=title, if_exists="get")
    except ThreadExists:
        _belongs_to_another(thread_id)


def stream_reply(desk: ThreadDesk, thread_id: str, text: str, user: str, out: TextIO, **turn: Any) -> Reply:
    """Write the reply to `out` token by token as the model produces it; return the `Reply`.

    `turn` goes to `SupportDesk.stream` (`create`, `title`, `graph_id`).
    """
    from threaddesk.service import Token

    reply: Reply | None = None
    streamed = False
    for event in desk.stream(thread_id, text, user_id=user, **turn):
        if isinstance(event, Token):
            out.write(event.text)
            out.flush()
            streamed = True
        else:
            reply = event
    if reply is not None and not streamed:  # written whole, not by the model: a handoff's notice
        out.write(reply.text)
    out.write("\n")
    out.flush()
    assert reply is not None, "SupportDesk.stream always ends with the Reply"
    return reply


def answer_lines(
    desk: ThreadDesk,
    user: str,
    target: Target,
    lines: Iterable[str],
    out: TextIO,
    *,
    title: str | None = None,
    announce: bool = False,
    graph_id: str | None = None,
) -> None:
    """Non-interactive chat: every non-blank line is one turn; print only the replies.

    A thread not created yet is created by the first turn, once its message is
    accepted; with `announce`, its id then goes to stderr (a script needs it to come back).
    """
    create = target.existing is None
    for line in lines:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        try:
            stream_reply(
                desk,
                target.thread_id,
                text,
                user,
                out,
                create=create,
                title=title if create else None,
                graph_id=graph_id,
            )
        except ThreadExists:
            _belongs_to_another(target.thread_id)
        if create and announce:
            typer.echo(f"thread {target.thread_id}", err=True)
        create = False


class Repl:
    """The interactive session: one current thread, slash commands to move between threads."""

    def __init__(
        self, desk: ThreadDesk, user: str, thread: Thread, out: Console, graph_id: str | None = None
    ) -> None:
        self.desk = desk
        self.graph_id = graph_id  # --graph: every turn goes to it; None: each thread's own
        self.user = user
        self.thread = thread
        self.out = out
        self.running = True
        # name -> (what it does, its usage; a usage without an argument means it takes none)
        self.commands: dict[str, tuple[Callable[[str], None], str]] = {
            "/new": (self.new, "/new [TITLE]"),
            "/switch": (self.switch, "/switch ID"),
            "/threads": (self.threads, "/threads"),
            "/history": (self.history, "/history [N]"),
            "/rename": (self.rename, "/rename TITLE"),
            "/whoami": (self.whoami, "/whoami"),
            "/help": (self.help, "/help"),
            "/quit": (self.quit, "/quit"),
            "/exit": (self.quit, "/exit"),
        }

    @property
    def prompt(self) -> str:
        """The thread's title or a short id: a 36-character UUID would crowd the line."""
        return f"{thread_label(self.thread)}> "

    def run(self) -> None:
        _enable_completion(self.complete)
        title = f" ({self.thread.title})" if self.thread.title else ""
        self.out.print(
            f"Chatting as [bold]{self.user}[/] on thread [bold]{self.thread.thread_id}[/]{title}. "
            "/help lists the commands.",
            highlight=False,
        )
        while self.running:
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
            self.thread = stream_reply(
                self.desk, self.thread.thread_id, line, self.user, sys.stdout, graph_id=self.graph_id
            ).thread
            return
        name, _, argument = line.partition(" ")
        argument = argument.strip()
        if name not in self.commands:
            raise InvalidArgument(f"unknown command {name}: /help lists the commands")
        command, usage = self.commands[name]
        if argument and " " not in usage:
            raise InvalidArgument(f"usage: {usage} ({name} takes no arguments)")
        command(argument)

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
        print_thread_table(self.out, page.threads, current=self.thread.thread_id, owners=False)

    def history(self, argument: str) -> None:
        count = DEFAULT_HISTORY
        if argument:
            count = int(argument) if argument.isascii() and argument.isdigit() else -1
        if count < 0:
            raise InvalidArgument(
                f"usage: /history [N], N a whole number of messages (0 or more), got {argument!r}"
            )
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

    def quit(self, _: str) -> None:
        self.running = False

    def complete(self, line: str, text: str) -> list[str]:
        """Completions of the word `text` on `line`: command names, or thread ids after /switch."""
        if line.startswith("/switch ") and len(line.split()) <= 2:
            page = self.desk.threads.list(user_id=self.user, limit=1000)
            return [t.thread_id for t in page.threads if t.thread_id.startswith(text)]
        if " " not in line:
            return [name for name in self.commands if name.startswith(text)]
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
