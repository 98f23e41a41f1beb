"""What LangGraph's server tells about a graph: its drawing and its JSON schemas.

For `assistants.get_graph` / `get_schemas` / `get_subgraphs`, computed as
LangGraph's server computes them from the compiled graph (so a front-end that
renders the graph or builds a form from the schemas sees the same thing).
"""

from __future__ import annotations

import warnings
from typing import Any

from langchain_core.runnables.utils import create_model
from langgraph.pregel import Pregel
from pydantic import TypeAdapter

from threaddesk.errors import InvalidArgument

# Keys of `configurable` the server sets itself, left out of the config schema.
_SERVER_CONFIGURABLE = (
    "__pregel_checkpointer",
    "__pregel_store",
    "checkpoint_id",
    "checkpoint_ns",
    "thread_id",
)


def graph_json(graph: Pregel, xray: bool | int = False) -> dict[str, Any]:
    """The graph's nodes and edges as JSON (`xray`: also those inside subgraphs, to that depth)."""
    if isinstance(xray, int) and not isinstance(xray, bool) and xray <= 0:
        raise InvalidArgument("xray must be true, false or a positive depth")
    drawn = graph.get_graph(xray=xray).to_json()
    for node in drawn.get("nodes", []):
        if isinstance(node.get("data"), dict):
            node["data"].pop("id", None)
    return drawn


def _state_schema(graph: Pregel) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key in graph.stream_channels_list:
        channel: Any = graph.channels[key]
        update_type = channel.UpdateType
        try:
            create_model(key, __root__=(update_type, None)).model_json_schema()
            fields[key] = (update_type, None)
        except Exception:
            fields[key] = (Any, None)
    return create_model(graph.get_name("State"), **fields).model_json_schema()


def _config_schema(graph: Pregel) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        config = graph.config_schema()
    fields = getattr(config, "model_fields", None) or {}
    if "configurable" not in fields:
        return {}
    configurable: Any = fields["configurable"].annotation
    schema = TypeAdapter(configurable).json_schema()
    for key in _SERVER_CONFIGURABLE:
        schema.get("properties", {}).pop(key, None)
    config_type = getattr(graph, "config_type", None)
    if config_type is not None and hasattr(config_type, "__name__"):
        schema["title"] = config_type.__name__
    return schema


def graph_schemas(graph: Pregel, graph_id: str) -> dict[str, Any]:
    """`graph_id` and the input, output, state, config and context JSON schemas."""
    return {
        "graph_id": graph_id,
        "input_schema": graph.get_input_jsonschema(),
        "output_schema": graph.get_output_jsonschema(),
        "state_schema": _state_schema(graph),
        "config_schema": _config_schema(graph),
        "context_schema": graph.get_context_jsonschema(),
    }


async def graph_subgraphs(
    graph: Pregel, namespace: str | None = None, recurse: bool = False
) -> dict[str, Any]:
    """The graph's subgraphs by namespace (under `namespace` if given; nested ones with `recurse`),
    each with its input, output, state, config and context schemas, as LangGraph's server lists them."""
    found: dict[str, Any] = {}
    async for name, subgraph in graph.aget_subgraphs(namespace=namespace, recurse=recurse):
        schemas = graph_schemas(subgraph, name)  # type: ignore[arg-type]  # a local graph's are Pregels
        schemas.pop("graph_id")
        found[name] = schemas
    return found
