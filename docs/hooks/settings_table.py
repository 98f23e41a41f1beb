"""MkDocs hook: the settings table of configuration.md, built from `threaddesk.config.Settings`.

The page holds a marker; at build time it becomes one row per field (environment variable, type,
default, description), read from `Settings.model_fields`, so the documentation cannot drift from the
code. A field without a description fails the build (and `tests/test_config.py`).
"""

from __future__ import annotations

import inspect
import types
from typing import Any, Union, get_args, get_origin

import annotated_types
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from threaddesk.config import Settings

MARKER = "<!-- settings-table -->"
LONG_DEFAULT = 40  # longer defaults (the system prompt) are cut, with a pointer to the code

_BOUNDS = (
    (annotated_types.Ge, "≥", "ge"),
    (annotated_types.Gt, ">", "gt"),
    (annotated_types.Le, "≤", "le"),
    (annotated_types.Lt, "<", "lt"),
)


def env_var(name: str) -> str:
    """The environment variable that sets field `name`."""
    return f"{Settings.model_config.get('env_prefix', '')}{name}".upper()


def type_text(field: FieldInfo) -> str:
    """`int ≥ 1`, `str`, `float > 0`, `int` (optional) ... from the annotation and its constraints."""
    annotation = field.annotation
    optional = False
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        optional = len(members) < len(get_args(annotation))
        annotation = members[0] if len(members) == 1 else annotation
    name = getattr(annotation, "__name__", str(annotation))
    name = {"SecretStr": "str (secret)"}.get(name, name)
    bounds = [
        f"{symbol} {getattr(item, attribute)}"
        for item in field.metadata
        for kind, symbol, attribute in _BOUNDS
        if isinstance(item, kind)
    ]
    text = f"{name} {', '.join(bounds)}" if bounds else name
    return f"{text}, optional" if optional else text


def default_text(field: FieldInfo) -> str:
    """The default as a reader needs it: a factory's docstring says what it computes."""
    if field.default_factory is not None:
        doc = inspect.getdoc(field.default_factory)
        if not doc:
            raise ValueError(f"default factory {field.default_factory!r} needs a docstring for the docs")
        return doc.splitlines()[0].rstrip(".")
    default = field.default
    if default is None or default is PydanticUndefined:
        return "unset"
    text = str(default)
    if len(text) > LONG_DEFAULT:
        return f"`{text[:LONG_DEFAULT].rstrip()}…` (see `threaddesk/config.py`)"
    return f"`{text}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def settings_table() -> str:
    """The Markdown table of every `Settings` field, in declaration order."""
    rows = ["| variable | type | default | description |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        if not field.description:
            raise ValueError(f"Settings.{name} has no description: add description= to its Field")
        cells = (f"`{env_var(name)}`", type_text(field), default_text(field), field.description)
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Replace the marker on any page that has one (configuration.md)."""
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, settings_table())
