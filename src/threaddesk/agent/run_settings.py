"""What an assistant configures of the support agent, read per run from the run's context.

An assistant is a saved configuration of a graph (LangGraph's model): its
`context` (kept equal to `config.configurable`) reaches the graph at run time
merged with the run's own, so one compiled graph serves a "billing" and a
"technical" assistant side by side. This module is the one reader of those
keys, for the graph at call time and for whoever stores an assistant (which
checks them once, up front, with `check_settings`).

It imports nothing of threaddesk but its own errors, as the rest of the graph's
modules, so LangGraph's own server can load the very same graph (see
tests/conformance/langgraph_dev.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict
from typing_extensions import TypedDict

# The keys an assistant of the support agent may set, with their meaning (the graph's context schema).
MAX_PROMPT_CHARS = 32_000
MAX_CONTEXT_MESSAGES = 1_000
MAX_TOOLS = 64


class AgentContext(TypedDict, total=False):
    """The support agent's settings an assistant (or a run) may give; absent keys keep the desk's."""

    # The docstrings below become the fields' descriptions in the context schema (`get_schemas`).
    __pydantic_config__ = ConfigDict(use_attribute_docstrings=True)  # type: ignore[misc]

    system_prompt: str
    """The model's instructions (the desk's `system_prompt` if absent)."""
    model: str
    """`offline` or `provider:model`, as `THREADDESK_MODEL` (the desk's model if absent)."""
    context_messages: int
    """At most this many of the thread's latest messages go to the model."""
    context_tokens: int
    """If set, the model's context is also cut to this many tokens (approximate count)."""
    tools: list[str]
    """The names of the tools this assistant may use (all of the graph's if absent)."""


@dataclass(frozen=True, slots=True)
class RunSettings:
    """The settings of one run: the desk's defaults, overridden by what the run's context gives."""

    system_prompt: str
    context_messages: int
    context_tokens: int | None = None
    model: str | None = None  # None: the desk's own model
    tools: tuple[str, ...] | None = None  # None: every tool the graph has

    def allows(self, tool: str) -> bool:
        """Whether this run may use the tool named `tool`."""
        return self.tools is None or tool in self.tools


def _problem(key: str, value: Any) -> str | None:
    """What is wrong with `value` for `key`, or None (unknown keys are the graph's business: none)."""
    if key == "system_prompt":
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_PROMPT_CHARS:
            return f"a non-empty string of at most {MAX_PROMPT_CHARS} characters"
    elif key == "model":
        if not isinstance(value, str) or not (value.strip() == "offline" or _is_provider_model(value)):
            return "'offline' or 'provider:model', e.g. openai:gpt-4o-mini"
    elif key in ("context_messages", "context_tokens"):
        top = MAX_CONTEXT_MESSAGES if key == "context_messages" else 10_000_000
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            return f"an integer from 1 to {top}"
    elif key == "tools":
        if (
            not isinstance(value, list | tuple)
            or len(value) > MAX_TOOLS
            or not all(isinstance(name, str) and 0 < len(name) <= 128 for name in value)
        ):
            return f"a list of at most {MAX_TOOLS} tool names"
    return None


def _is_provider_model(spec: str) -> bool:
    provider, _, model = spec.strip().partition(":")
    return bool(provider) and bool(model) and provider.replace("_", "").replace("-", "").isalnum()


def check_settings(values: Mapping[str, Any], where: str = "context") -> list[str]:
    """The problems of the support agent's keys in `values` (empty: fine), each naming its key."""
    problems = []
    for key in AgentContext.__annotations__:
        if key in values and values[key] is not None:
            problem = _problem(key, values[key])
            if problem:
                problems.append(f"{where}.{key} must be {problem}, got {values[key]!r}")
    return problems


def run_settings(config: Mapping[str, Any], defaults: RunSettings) -> RunSettings:
    """The settings of the run whose RunnableConfig is `config`: its context (LangGraph's runtime
    context), else its `configurable`, key by key over `defaults`; a malformed value keeps the default
    (what is stored was checked when it was stored)."""
    configurable = config.get("configurable") or {}
    runtime = configurable.get("__pregel_runtime")
    context = getattr(runtime, "context", None)
    given: dict[str, Any] = {}
    for source in (configurable, context if isinstance(context, Mapping) else {}):
        for key in AgentContext.__annotations__:
            if source.get(key) is not None and _problem(key, source[key]) is None:
                given[key] = source[key]
    if not given:
        return defaults
    return RunSettings(
        system_prompt=given.get("system_prompt", defaults.system_prompt),
        context_messages=given.get("context_messages", defaults.context_messages),
        context_tokens=given.get("context_tokens", defaults.context_tokens),
        model=given["model"].strip() if "model" in given else defaults.model,
        tools=tuple(given["tools"]) if "tools" in given else defaults.tools,
    )
