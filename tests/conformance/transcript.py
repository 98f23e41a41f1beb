"""What a scenario saw, made comparable between two servers: ids and times named by first appearance.

Two servers never agree on a generated id or a clock reading, but they must
agree on everything else, and on where the same id recurs: each distinct UUID
(thread, run, checkpoint, task or message id, also inside `lc_run--...`) becomes
`<id:N>` numbered by first appearance in the transcript, each timestamp `<time>`.
What only says which server answered (its version, plan, host, auth plumbing)
is dropped: that list is the documented difference, nothing else is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?$")
STREAM_ID = re.compile(r"^id: [^\r\n]+", re.MULTILINE)
# Keys naming the server or its request plumbing, not the run.
SERVER_KEYS = frozenset(
    {
        "langgraph_version",
        "langgraph_api_version",
        "langgraph_plan",
        "langgraph_host",
        "langgraph_api_url",
        "langgraph_request_id",
        "langgraph_auth_user",
        "langgraph_auth_user_id",
        "langgraph_auth_permissions",
        "__request_start_time_ms__",
        "__after_seconds__",
        "lc_versions",  # the LangChain packages installed beside the server
        "user_id",  # who the server's auth says is calling ("" on `langgraph dev`, which has none)
    }
)


@dataclass
class Transcript:
    """Entries `(label, value)` in order, normalised as they are added."""

    entries: list[tuple[str, Any]] = field(default_factory=list)
    _ids: dict[str, str] = field(default_factory=dict)

    def add(self, label: str, value: Any) -> Any:
        normal = self.normalise(value)
        self.entries.append((label, normal))
        return normal

    def _name(self, match: re.Match[str]) -> str:
        return self._ids.setdefault(match.group(0), f"<id:{len(self._ids) + 1}>")

    def text(self, value: str) -> str:
        if TIMESTAMP.match(value):
            return "<time>"
        return UUID.sub(self._name, value)

    def normalise(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):  # in key order: ids are numbered alike whatever order a server keeps
            return {
                self.text(str(k)): self.normalise(value[k]) for k in sorted(value) if k not in SERVER_KEYS
            }
        if isinstance(value, list | tuple):
            return [self.normalise(v) for v in value]
        return value

    def frames(self, raw: bytes) -> str:
        """A raw SSE body: JSON data lines normalised but kept byte for byte otherwise."""
        out = []
        for line in raw.decode().split("\r\n"):
            if line.startswith("data: "):
                data = json.loads(line[6:])
                if _has_server_keys(data):
                    line = "data: " + json.dumps(self.normalise(data), separators=(",", ":"))
                else:  # compared byte for byte: only ids and times replaced, in place
                    line = "data: " + UUID.sub(self._name, _times(line[6:]))
            out.append(line)
        return STREAM_ID.sub("id: <stream-id>", "\r\n".join(out))


def _times(text: str) -> str:
    return re.sub(r'"\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)?"', '"<time>"', text)


def _has_server_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return any(k in SERVER_KEYS or _has_server_keys(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_server_keys(v) for v in value)
    return False
