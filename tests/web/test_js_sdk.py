"""LangGraph's JavaScript client (`@langchain/langgraph-sdk`, tests/web/js/) against a live threaddesk.

node runs tests/web/js/scenario.mjs, which prints what it saw as one JSON object.
Skips, saying why, where node or the installed package (`npm ci` in tests/web/js/,
which `.ci/run` does) is absent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

JS = Path(__file__).parent / "js"


def test_js_client_threads_runs_history_store(live_server) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (JS / "node_modules" / "@langchain" / "langgraph-sdk").is_dir():
        pytest.skip("@langchain/langgraph-sdk is not installed: cd tests/web/js && npm ci")
    done = subprocess.run(
        [node, "scenario.mjs", live_server.url, live_server.alice.token],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["created"] == {"source": "js"}
    assert seen["waited"] == "Hello Alice! How can I help?"
    assert seen["events"] == ["metadata", "values", "messages"]
    assert seen["streamed"] == "Your name is Alice!"
    assert seen["state"] == [
        "Hi, I'm Alice.",
        "Hello Alice! How can I help?",
        "What's my name?",
        "Your name is Alice!",
    ]
    assert seen["history"] >= 1
    assert seen["searched"] is True and seen["count"] >= 1
    assert (seen["item"], seen["items"]) == ({"language": "fr"}, 1)
    assert seen["missing"] == 404
