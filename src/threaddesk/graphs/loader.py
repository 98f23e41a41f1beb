"""Import the graphs a config names and make them threaddesk's: our checkpointer, our store.

Done once, at start: a graph that fails to import, build or compile raises
`GraphLoadError` (one line: the graph, its file, the exception) before a single
request is taken, never at the first run.

What a graph entry may point at, as on LangGraph's server:
- a compiled graph (`builder.compile()`, a `Pregel`): compiled *without* a
  checkpointer or store, since threaddesk supplies both (one that brings its
  own is refused: its threads would live outside threaddesk's database);
- an uncompiled `StateGraph`: compiled here;
- a factory: a function taking nothing or a `RunnableConfig`, sync or async, or
  an (async) context manager yielding the graph; it is called once, at start,
  with an empty config (LangGraph's server calls it per run: see the docs).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from langgraph.pregel import Pregel
from langgraph.store.base import BaseStore

from threaddesk.errors import GraphLoadError
from threaddesk.graphs.config import GraphsConfig, GraphSpec, parse_spec
from threaddesk.graphs.registry import ServedGraph


def prepare_environment(config: GraphsConfig) -> None:
    """Set the config's `env` (variables already set in the environment win) and put its
    local `dependencies` on the import path, before any graph is imported."""
    for name, value in config.env.items():
        os.environ.setdefault(name, value)
    for path in reversed(config.dependencies):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def module_name(file: Path) -> str:
    """The name a graph's file is imported under: its stem and a digest of its path (unique per file)."""
    digest = hashlib.sha1(str(file).encode()).hexdigest()[:12]
    stem = "".join(c if c.isalnum() else "_" for c in file.stem)
    return f"threaddesk_graph_{stem}_{digest}"


def _import_file(file: Path) -> ModuleType:
    """Import a graph's file as a module of its own (registered, so pickling and typing find it)."""
    if not file.is_file():
        raise FileNotFoundError(f"no such file {file}")
    name = module_name(file)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"{file} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def import_target(spec: GraphSpec) -> Any:
    """The object `spec` names (its module imported on the way)."""
    module = _import_file(spec.file) if spec.file is not None else importlib.import_module(spec.module or "")
    try:
        return getattr(module, spec.attr)
    except AttributeError:
        found = [name for name, value in vars(module).items() if isinstance(value, Pregel | StateGraph)]
        hint = f" (graphs there: {', '.join(found)})" if found else ""
        raise AttributeError(f"{module.__name__} has no attribute {spec.attr!r}{hint}") from None


async def _call_factory(factory: Any, stack: AsyncExitStack) -> Any:
    """What a graph factory returns: called with a config if it takes one, awaited or entered."""
    params = list(inspect.signature(factory).parameters.values())
    required = [
        p
        for p in params
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    if len(required) > 1:
        raise TypeError(f"a graph factory takes nothing or a RunnableConfig, not {len(required)} arguments")
    made = factory({"configurable": {}}) if params and params[0].kind != params[0].VAR_KEYWORD else factory()
    if inspect.isawaitable(made):
        made = await made
    if hasattr(made, "__aenter__"):
        made = await stack.enter_async_context(made)
    elif hasattr(made, "__enter__") and not isinstance(made, Pregel | StateGraph):
        made = stack.enter_context(made)
    return made


async def serve_graph(
    graph_id: str,
    value: Any,
    location: str,
    *,
    checkpointer: BaseCheckpointSaver | None,
    store: BaseStore | None,
    stack: AsyncExitStack,
) -> Pregel:
    """`value` (a compiled graph, a `StateGraph`, a factory) as a compiled graph on our storage.

    Like LangGraph's server: a copy of the graph with its checkpointer and store
    set (the caller's object is left as it was), named after `graph_id` if it
    kept LangGraph's default name. Any failure is a `GraphLoadError`.
    """
    try:
        if not isinstance(value, Pregel | StateGraph) and callable(value):
            value = await _call_factory(value, stack)
        if isinstance(value, StateGraph):
            value = value.compile()
        if not isinstance(value, Pregel):
            raise GraphLoadError(
                graph_id,
                location,
                f"is a {type(value).__name__}, not a graph: expected a compiled graph, a StateGraph,"
                " or a function returning one",
            )
        own = [
            f"{what} ({type(part).__name__})"
            for what, part, kind in (
                ("checkpointer", value.checkpointer, BaseCheckpointSaver),
                ("store", value.store, BaseStore),
            )
            if isinstance(part, kind)
        ]
        if own:
            raise GraphLoadError(
                graph_id,
                location,
                f"the graph is compiled with its own {' and '.join(own)}: threaddesk supplies the"
                " checkpointer and store, so compile it without (`builder.compile()`)",
            )
        update: dict[str, Any] = {"checkpointer": checkpointer, "store": store}
        if value.name == "LangGraph":
            update["name"] = graph_id
        return value.copy(update=update)
    except GraphLoadError:
        raise
    except (Exception, SystemExit) as exc:
        raise GraphLoadError(graph_id, location, f"{type(exc).__name__}: {exc}") from exc


async def load_graphs(
    graphs: GraphsConfig | Mapping[str, Any],
    *,
    checkpointer: BaseCheckpointSaver | None,
    store: BaseStore | None,
    stack: AsyncExitStack,
) -> list[ServedGraph]:
    """Every graph of a config (or of a mapping name → graph object or import path), served.

    Import paths in a mapping are relative to the current directory. Raises
    `GraphLoadError` on the first graph that cannot be served.
    """
    loaded: list[ServedGraph] = []
    if isinstance(graphs, GraphsConfig):
        prepare_environment(graphs)
        entries: list[tuple[str, GraphSpec | None, Any]] = [(s.graph_id, s, None) for s in graphs.graphs]
    else:
        entries = []
        for graph_id, value in graphs.items():
            if isinstance(value, str | Mapping):
                entries.append((graph_id, parse_spec(graph_id, value, Path.cwd()), None))
            else:
                entries.append((graph_id, None, value))
    for graph_id, spec, value in entries:
        location = spec.location if spec is not None else f"<{type(value).__name__} object>"
        if spec is not None:
            try:
                value = import_target(spec)
            except (Exception, SystemExit) as exc:
                raise GraphLoadError(graph_id, location, f"{type(exc).__name__}: {exc}") from exc
        served = await serve_graph(
            graph_id, value, location, checkpointer=checkpointer, store=store, stack=stack
        )
        description = spec.description if spec is not None else None
        loaded.append(ServedGraph(graph_id, served, description=description, location=location))
    return loaded
