"""Serving any LangGraph graph: the `langgraph.json` config, loading graphs, and the registry of them."""

from threaddesk.graphs.config import GraphConfigError, GraphsConfig, GraphSpec, read_config
from threaddesk.graphs.registry import GraphRegistry, ServedGraph, system_assistant_id

__all__ = [
    "GraphConfigError",
    "GraphRegistry",
    "GraphSpec",
    "GraphsConfig",
    "ServedGraph",
    "read_config",
    "system_assistant_id",
]
