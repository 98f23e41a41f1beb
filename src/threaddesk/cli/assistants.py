"""`threaddesk assistants list|show|create|update|versions|latest|delete`: saved configurations of a graph.

The same assistants as the HTTP API's (`/assistants`, LangGraph's), managed from
the machine that holds the database, as `users` are: whoever runs the command is
the operator. An assistant's settings are the support agent's context keys
(`--prompt`, `--model`, `--context-messages`, `--tools`); runs naming it use them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from threaddesk.cli.errors import fail
from threaddesk.cli.options import JsonOption
from threaddesk.cli.output import console, echo_json
from threaddesk.cli.state import asyncio_run, cli_state
from threaddesk.cli.tables import Column, fit_table, print_table

if TYPE_CHECKING:
    from threaddesk.assistants import Assistant, AssistantManager

T = TypeVar("T")
GRAPH = "support_agent"

app = typer.Typer(
    help="Manage assistants: saved configurations of the support agent (prompt, model, context, tools).",
    no_args_is_help=True,
)

PromptOption = Annotated[str | None, typer.Option("--prompt", help="The system prompt.")]
ModelOption = Annotated[
    str | None, typer.Option("--model", help="'offline' or provider:model, e.g. openai:gpt-4o-mini.")
]
ContextOption = Annotated[
    int | None, typer.Option("--context-messages", help="At most this many latest messages go to the model.")
]
ToolsOption = Annotated[
    str | None, typer.Option("--tools", help="Comma-separated names of the tools it may use.")
]
MetadataOption = Annotated[
    str | None, typer.Option("--metadata", help='A JSON object, e.g. \'{"team": "billing"}\'.')
]
NameOption = Annotated[str | None, typer.Option("--name", help="Its name.")]
DescriptionOption = Annotated[str | None, typer.Option("--description", help="What it is for.")]


def _with_assistants(ctx: typer.Context, action: Callable[[AssistantManager], Awaitable[T]]) -> T:
    """Run `action` on the assistants of the database the root options name (offline model: no turn)."""
    from threaddesk.agent import OfflineChatModel
    from threaddesk.service import open_desk

    settings = cli_state(ctx).settings

    async def run() -> T:
        async with open_desk(settings, model=OfflineChatModel()) as desk:
            return await action(desk.assistants)

    return asyncio_run(run())


def _context(prompt: str | None, model: str | None, messages: int | None, tools: str | None) -> dict | None:
    given: dict[str, Any] = {
        "system_prompt": prompt,
        "model": model,
        "context_messages": messages,
        "tools": None if tools is None else [t.strip() for t in tools.split(",") if t.strip()],
    }
    context = {key: value for key, value in given.items() if value is not None}
    return context or None


def _metadata(text: str | None) -> dict | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"--metadata must be a JSON object: {exc}")
    if not isinstance(value, dict):
        fail("--metadata must be a JSON object")
    return value


def _show(assistant: Assistant, as_json: bool) -> None:
    if as_json:
        echo_json(assistant.to_dict())
        return
    where = f"graph {assistant.graph_id}, version {assistant.version}"
    typer.echo(f"{assistant.assistant_id}  {assistant.name}  ({where})")
    for key, value in assistant.context.items():
        typer.echo(f"  {key}: {value}")


@app.command("list")
def list_assistants(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option("--name", help="Only those whose name contains this.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List the assistants (each graph's own included), newest first."""
    from threaddesk.assistants import AssistantQuery
    from threaddesk.threads.models import MAX_PAGE_SIZE

    found = _with_assistants(ctx, lambda a: a.search(AssistantQuery(name=name, limit=MAX_PAGE_SIZE)))
    if as_json:
        echo_json([assistant.to_dict() for assistant in found])
        return
    out = console()
    rows = [
        [a.assistant_id, a.name, a.graph_id, str(a.version), ", ".join(sorted(a.context)) or "-"]
        for a in found
    ]
    columns = [Column("id"), Column("name"), Column("graph"), Column("version"), Column("sets")]
    print_table(out, fit_table(columns, rows, out.width))


@app.command("show")
def show(
    ctx: typer.Context,
    assistant_id: Annotated[str, typer.Argument(help="Its id (a graph's own: also the graph's name).")],
    as_json: JsonOption = False,
) -> None:
    """Show one assistant and what it sets."""
    _show(_with_assistants(ctx, lambda a: a.get(assistant_id)), as_json)


@app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Its name, e.g. billing.")],
    prompt: PromptOption = None,
    model: ModelOption = None,
    context_messages: ContextOption = None,
    tools: ToolsOption = None,
    description: DescriptionOption = None,
    metadata: MetadataOption = None,
    as_json: JsonOption = False,
) -> None:
    """Save a configuration of the support agent as a new assistant (version 1)."""
    context = _context(prompt, model, context_messages, tools)
    made = _with_assistants(
        ctx,
        lambda a: a.create(
            GRAPH, name=name, context=context, description=description, metadata=_metadata(metadata)
        ),
    )
    _show(made, as_json)


@app.command("update")
def update(
    ctx: typer.Context,
    assistant_id: Annotated[str, typer.Argument(help="Its id.")],
    name: NameOption = None,
    prompt: PromptOption = None,
    model: ModelOption = None,
    context_messages: ContextOption = None,
    tools: ToolsOption = None,
    description: DescriptionOption = None,
    metadata: MetadataOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change an assistant: a new version, active from now. The settings given replace those ones,
    the others stay; metadata is merged."""
    given = _context(prompt, model, context_messages, tools)

    async def change(assistants: AssistantManager) -> Assistant:
        context = None if given is None else {**(await assistants.get(assistant_id)).context, **given}
        return await assistants.update(
            assistant_id, name=name, context=context, description=description, metadata=_metadata(metadata)
        )

    _show(_with_assistants(ctx, change), as_json)


@app.command("versions")
def versions(
    ctx: typer.Context,
    assistant_id: Annotated[str, typer.Argument(help="Its id.")],
    as_json: JsonOption = False,
) -> None:
    """An assistant's versions, newest first."""
    from threaddesk.threads.models import MAX_PAGE_SIZE

    found = _with_assistants(ctx, lambda a: a.versions(assistant_id, limit=MAX_PAGE_SIZE))
    if as_json:
        echo_json([version.to_dict() for version in found])
        return
    out = console()
    rows = [
        [str(v.version), v.name, f"{v.created_at:%Y-%m-%d %H:%M:%S} UTC", ", ".join(sorted(v.context)) or "-"]
        for v in found
    ]
    print_table(
        out, fit_table([Column("version"), Column("name"), Column("saved"), Column("sets")], rows, out.width)
    )


@app.command("latest")
def latest(
    ctx: typer.Context,
    assistant_id: Annotated[str, typer.Argument(help="Its id.")],
    version: Annotated[int, typer.Argument(help="The version to make active.", min=1)],
    as_json: JsonOption = False,
) -> None:
    """Make one of an assistant's versions the active one."""
    _show(_with_assistants(ctx, lambda a: a.set_latest(assistant_id, version)), as_json)


@app.command("delete")
def delete(ctx: typer.Context, assistant_id: Annotated[str, typer.Argument(help="Its id.")]) -> None:
    """Delete an assistant and its versions (threads made with it go on with the desk's defaults)."""
    gone = _with_assistants(ctx, lambda a: a.delete(assistant_id))
    typer.echo(f"Deleted {gone.name!r} ({gone.assistant_id}).")
