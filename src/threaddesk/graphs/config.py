"""A `langgraph.json` as threaddesk reads it: which graphs to serve, their environment, their imports.

The same file LangGraph's CLI (`langgraph dev`, `langgraph up`) reads, so a project
moves between the two servers unchanged. Only the parts that make sense for a
server that owns its storage are used:

- `graphs`: `{"name": "./path/file.py:attr"}` (a file, relative to the config
  file) or `{"name": "package.module:attr"}` (an importable module), or
  `{"name": {"path": ..., "description": ...}}`.
- `env`: a dict of variables, or the path of a `.env` file (relative to the config).
- `dependencies`: local paths (`"."`, `"./src"`) are put on the import path;
  package names are taken as already installed (threaddesk installs nothing).
- `auth`: `{"path": "./auth.py:auth"}`, parsed here and handed on as `auth_path`
  (custom authentication is wired in by the web layer).

`checkpointer` and `store` are refused: threaddesk supplies both (its database).
Every other key (`python_version`, `dockerfile_lines`, `http`, ...) is about
building images or LangGraph's own server, and is ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from threaddesk.errors import InvalidArgument

# Sections that configure what threaddesk provides itself: refused rather than silently ignored.
_REFUSED = {
    "checkpointer": (
        "threaddesk keeps checkpoints in its own database (--db); remove the `checkpointer` section"
    ),
    "store": "threaddesk keeps the store in its own database (--db); remove the `store` section",
}


class GraphConfigError(InvalidArgument):
    """The config file is missing, not JSON, or has a section threaddesk cannot honour."""

    code = "graph_config_error"


@dataclass(frozen=True, slots=True)
class GraphSpec:
    """Where one graph comes from: a file (`file`) or a module (`module`), and the attribute in it."""

    graph_id: str
    attr: str
    file: Path | None = None
    module: str | None = None
    description: str | None = None

    @property
    def location(self) -> str:
        """`/abs/path/file.py:attr` or `package.module:attr`, as error messages name it."""
        return f"{self.file if self.file is not None else self.module}:{self.attr}"


@dataclass(frozen=True, slots=True)
class GraphsConfig:
    """A parsed `langgraph.json` (or the same given in code)."""

    graphs: tuple[GraphSpec, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    dependencies: tuple[Path, ...] = ()
    auth: Mapping[str, Any] | None = None
    source: Path | None = None  # the file it was read from

    @property
    def auth_path(self) -> str | None:
        """The `auth.path` of the config (`./auth.py:auth` made absolute, or `module:attr`), if any.

        The hook for custom authentication (`langgraph_sdk.Auth`): the web layer loads it.
        """
        if not self.auth or not self.auth.get("path"):
            return None
        path = str(self.auth["path"])
        base = self.source.parent if self.source is not None else Path.cwd()
        target, _, attr = path.rpartition(":")
        if "/" in target or target.endswith(".py"):
            return f"{(base / target).resolve()}:{attr}"
        return path


def parse_spec(graph_id: str, value: object, base: Path) -> GraphSpec:
    """One entry of `graphs`: `"./file.py:attr"`, `"package.module:attr"` or `{"path": ..., ...}`."""
    if not isinstance(graph_id, str) or not graph_id.strip():
        raise GraphConfigError(f"graph names must be non-empty strings, got {graph_id!r}")
    description = None
    if isinstance(value, Mapping):
        description = value.get("description")
        value = value.get("path")
    if not isinstance(value, str):
        raise GraphConfigError(
            f"graph {graph_id!r}: expected './path/file.py:attr' or 'package.module:attr', got {value!r}"
        )
    target, colon, attr = value.rpartition(":")
    if not colon or not target or not attr.isidentifier():
        raise GraphConfigError(
            f"graph {graph_id!r}: {value!r} names no attribute;"
            " expected './path/file.py:attr' or 'package.module:attr'"
        )
    if "/" in target or "\\" in target or target.endswith(".py"):
        return GraphSpec(graph_id, attr, file=(base / target).resolve(), description=description)
    return GraphSpec(graph_id, attr, module=target, description=description)


def _read_env_file(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    if not path.is_file():
        raise GraphConfigError(f"env file {path} not found")
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def parse_config(data: object, base: Path, source: Path | None = None) -> GraphsConfig:
    """A `GraphsConfig` from the JSON object of a `langgraph.json` whose directory is `base`."""
    where = str(source) if source is not None else "config"
    if not isinstance(data, Mapping):
        raise GraphConfigError(f"{where}: expected a JSON object")
    for key, why in _REFUSED.items():
        if data.get(key) is not None:
            raise GraphConfigError(f"{where}: `{key}` is not supported: {why}")
    graphs = data.get("graphs")
    if not isinstance(graphs, Mapping) or not graphs:
        raise GraphConfigError(
            f'{where}: `graphs` must name at least one graph, e.g. {{"agent": "./agent.py:graph"}}'
        )
    specs = tuple(parse_spec(name, value, base) for name, value in graphs.items())
    env = data.get("env") or {}
    if isinstance(env, str):
        env = _read_env_file(base / env)
    elif not isinstance(env, Mapping) or not all(isinstance(v, str) for v in env.values()):
        raise GraphConfigError(f"{where}: `env` must be a .env file path or an object of strings")
    dependencies = data.get("dependencies") or []
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise GraphConfigError(f"{where}: `dependencies` must be a list of strings")
    local = tuple((base / d).resolve() for d in dependencies if d.startswith((".", "/")))
    auth = data.get("auth")
    if auth is not None and not isinstance(auth, Mapping):
        raise GraphConfigError(f"{where}: `auth` must be an object with a `path`")
    return GraphsConfig(specs, dict(env), local, auth, source)


def read_config(path: str | os.PathLike[str]) -> GraphsConfig:
    """Read and parse the `langgraph.json` at `path` (`GraphConfigError` if it cannot be used)."""
    file = Path(path).expanduser().resolve()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GraphConfigError(f"config file {file} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GraphConfigError(f"config file {file} cannot be read: {exc}") from None
    return parse_config(data, file.parent, file)
