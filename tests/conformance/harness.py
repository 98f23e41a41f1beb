"""The two servers a scenario runs against, and the comparison of what it saw on each."""

from __future__ import annotations

import difflib
import json
import pprint
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from transcript import Transcript


@dataclass
class Target:
    """One server under test: its name, URL and the headers its caller sends."""

    name: str
    url: str
    headers: dict[str, str]
    other: Target | None = None  # another replica of the same server, on the same database

    def sdk(self) -> LangGraphClient:
        return get_client(url=self.url, headers=self.headers)

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=30)


Scenario = Callable[[Target, Transcript], Awaitable[None]]


async def same_on_both(targets: list[Target], scenario: Scenario) -> Transcript:
    """Run `scenario` on each target; fail with a diff unless their transcripts are equal."""
    seen = []
    for target in targets:
        transcript = Transcript()
        await scenario(target, transcript)
        seen.append(transcript)
    reference, ours = (pprint.pformat(t.entries, width=110).splitlines() for t in seen)
    if reference != ours:
        diff = "\n".join(difflib.unified_diff(reference, ours, "langgraph", "threaddesk", lineterm=""))
        pytest.fail(f"threaddesk differs from LangGraph's server:\n{diff}")
    return seen[1]


async def status_of(call: Awaitable[object]) -> tuple[int, object]:
    """The HTTP status a client call ended with (200 when it returned) and what it returned."""
    try:
        return 200, await call
    except httpx.HTTPStatusError as exc:
        try:
            body = exc.response.json()
        except (json.JSONDecodeError, httpx.ResponseNotRead):
            body = None
        return exc.response.status_code, body
