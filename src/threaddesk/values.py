"""Checks on caller-supplied text and metadata, so every backend can store what the core accepts.

SQLite takes nearly anything; PostgreSQL's `text` and `jsonb` refuse NUL
characters, every UTF-8 encoder refuses lone surrogates, and JSON has no NaN.
Refusing these up front (as `InvalidArgument`) keeps the answer the same on
every backend and keeps a malformed value from failing halfway through a write.
Emoji, right-to-left text and other valid Unicode pass untouched.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from threaddesk.errors import InvalidArgument

MAX_METADATA_BYTES = 16 * 1024
MAX_METADATA_DEPTH = 16


def check_text(value: str, what: str) -> str:
    """`value` if every backend can store it: no NUL, no lone surrogate."""
    if "\x00" in value:
        raise InvalidArgument(f"{what} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgument(f"{what} must be valid Unicode (it has a lone surrogate)") from exc
    return value


def _check_json(value: Any, depth: int) -> None:
    if depth > MAX_METADATA_DEPTH:
        raise InvalidArgument(f"metadata nests deeper than {MAX_METADATA_DEPTH} levels")
    if isinstance(value, str):
        check_text(value, "metadata")
    elif isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument("metadata numbers must be finite (JSON has no NaN or Infinity)")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidArgument("metadata keys must be strings")
            check_text(key, "metadata keys")
            _check_json(item, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_json(item, depth + 1)
    elif value is not None and not isinstance(value, bool | int | float):
        raise InvalidArgument(f"metadata values must be JSON, not {type(value).__name__}")


def check_metadata(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of `metadata` if it is a JSON object every backend stores, within the size limits."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidArgument("metadata must be a mapping with string keys")
    _check_json(metadata, 1)
    size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise InvalidArgument(f"metadata of {size} bytes exceeds the limit of {MAX_METADATA_BYTES} bytes")
    return dict(metadata)
