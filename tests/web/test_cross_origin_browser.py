"""A page on another origin, built on LangGraph's real `useStream` (React), against threaddesk with CORS on.

tests/web/js_browser/page.jsx is bundled by esbuild with `@langchain/langgraph-sdk`,
React and `@langchain/core` from tests/web/js_browser/node_modules (`npm ci` there,
as `.ci/run` does), served by a second local HTTP server on its own port, and
driven in headless Chromium: what the page shows, and what it sent, are checked.
Skips, saying why, where Chromium or the node packages are absent.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from threaddesk.web.compat import ASSISTANT_ID

CHROMIUM = Path("/usr/bin/chromium")
PAGE_SOURCES = Path(__file__).parent / "js_browser"
ESBUILD = PAGE_SOURCES / "node_modules" / ".bin" / "esbuild"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.skipif(
        shutil.which("node") is None or not ESBUILD.exists(),
        reason="needs node and the page's packages: cd tests/web/js_browser && npm ci",
    ),
]


@pytest.fixture(scope="module")
def page_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """index.html and page.js (the bundle: the page, React, the SDK's client and useStream)."""
    out = tmp_path_factory.mktemp("usestream-page")
    shutil.copy(PAGE_SOURCES / "index.html", out / "index.html")
    built = subprocess.run(
        [str(ESBUILD), "page.jsx", "--bundle", "--format=esm", "--jsx=automatic", "--log-level=warning"]
        + ['--define:process.env.NODE_ENV="production"', f"--outfile={out / 'page.js'}"],
        cwd=PAGE_SOURCES,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    return out


def _static_server(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def origins(page_dir: Path) -> Iterator[tuple[str, str]]:
    """Two static servers of the same page: an origin the API allows, and one it does not."""
    allowed, allowed_url = _static_server(page_dir)
    refused, refused_url = _static_server(page_dir)
    try:
        yield allowed_url, refused_url
    finally:
        for server in (allowed, refused):
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def server(fresh_live_server, origins):
    """CORS for the allowed origin only; per-step checkpoints, all kept: what regenerating needs."""
    return fresh_live_server(
        ["pat", "quinn"], cors_origins=origins[0], keep_checkpoints=0, run_durability="async"
    )


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def _page_url(origin: str, server, user: str, thread_id: str | None = None) -> str:
    query = httpx.QueryParams(
        {"api": server.url, "key": server.users[user].token, "assistant": ASSISTANT_ID}
        | ({"thread": thread_id} if thread_id else {})
    )
    return f"{origin}/index.html?{query}"


# Copies what each run stream brings into `window.__streams` as the SDK reads it (CDP cannot be
# asked for a streamed body reliably): the page itself is untouched.
TEE_STREAMS = """
window.__streams = [];
const originalFetch = window.fetch;
window.fetch = async (...args) => {
  const response = await originalFetch(...args);
  const url = String(args[0] instanceof Request ? args[0].url : args[0]);
  if (!url.includes("/runs/stream") || !response.body) return response;
  const [mine, theirs] = response.body.tee();
  const record = { url, status: response.status, body: "" };
  window.__streams.push(record);
  (async () => {
    const reader = mine.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      record.body += value;
    }
  })();
  const { status, statusText, headers } = response;
  return new Response(theirs, { status, statusText, headers });
};
"""


def _sse_events(body: str) -> list[str]:
    return [line[len("event: ") :] for line in body.splitlines() if line.startswith("event: ")]


def test_usestream_page_on_another_origin(browser, server, origins) -> None:
    allowed, _ = origins
    api = httpx.Client(base_url=server.url, headers=server.pat.headers, timeout=60)
    thread_id = api.post("/threads", json={}).json()["thread_id"]
    first = {
        "assistant_id": ASSISTANT_ID,
        "input": {"messages": [{"role": "user", "content": "Hi, I'm Pat."}]},
    }
    # The setup's turn (not what is under test): a 503 seen once in CI under load is retried once,
    # and its body kept in the message if it repeats.
    answer = api.post(f"/threads/{thread_id}/runs/wait", json=first)
    if answer.status_code == 503:
        answer = api.post(f"/threads/{thread_id}/runs/wait", json=first)
    assert answer.status_code == 200, answer.text

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sent: list[tuple[str, str, dict]] = []
    page.on(
        "request",
        lambda request: (
            sent.append((request.method, request.url, json.loads(request.post_data or "null") or {}))
            if request.url.startswith(server.url)
            else None
        ),
    )
    page.add_init_script(TEE_STREAMS)
    allowed_by: dict[str, str | None] = {}
    page.on(
        "response",
        lambda response: allowed_by.__setitem__(
            response.url, response.headers.get("access-control-allow-origin")
        ),
    )

    # Opening the thread from its id: useStream fetches its history, and the page shows the conversation.
    page.goto(_page_url(allowed, server, "pat", thread_id))
    messages = page.locator("#messages li")
    expect(messages).to_have_count(2, timeout=30_000)
    expect(messages.nth(0)).to_have_text("Hi, I'm Pat.")
    expect(messages.nth(1)).to_have_text("Hello Pat! How can I help?")
    assert ("POST", f"{server.url}/threads/{thread_id}/history") in [(m, u) for m, u, _ in sent]
    expect(page.locator("#history")).not_to_have_text("0")

    # A run streamed with values + messages-tuple + custom: the reply appears, streamed.
    page.fill("#input", "What's my name?")
    page.click("#send")
    expect(messages).to_have_count(4, timeout=30_000)
    expect(messages.nth(3)).to_have_text("Your name is Pat!", timeout=30_000)
    expect(page.locator("#status")).to_have_text("idle", timeout=30_000)
    runs = [body for method, url, body in sent if method == "POST" and url.endswith("/runs/stream")]
    assert {"values", "messages-tuple", "custom"} <= set(runs[0]["stream_mode"])
    first_stream = page.evaluate("window.__streams[0]")
    events = _sse_events(first_stream["body"])
    assert "values" in events and "messages" in events and events[0] == "metadata"
    assert first_stream["status"] == 200  # and the page could read it: CORS let it through
    assert allowed_by[f"{server.url}/threads/{thread_id}/history"] == allowed

    # Regenerate the last reply from its parent checkpoint (as useStream's branching does):
    # the new reply replaces the old one on a new branch, the thread does not grow.
    page.click("#regenerate")
    expect(page.locator("#branches")).to_have_text("2", timeout=30_000)
    expect(page.locator("#status")).to_have_text("idle", timeout=30_000)
    expect(messages).to_have_count(4)
    expect(messages.nth(3)).to_have_text("Your name is Pat!")
    regenerated = [body for method, url, body in sent if method == "POST" and url.endswith("/runs/stream")][1]
    assert regenerated["checkpoint"]["checkpoint_id"] and regenerated.get("input") is None
    state = api.get(f"/threads/{thread_id}/state").json()
    assert [m["content"] for m in state["values"]["messages"]][-2:] == [
        "What's my name?",
        "Your name is Pat!",
    ]
    assert len(state["values"]["messages"]) == 4
    history = api.post(f"/threads/{thread_id}/history", json={"limit": 50}).json()
    parents = [h["parent_checkpoint"]["checkpoint_id"] for h in history if h.get("parent_checkpoint")]
    assert len(parents) != len(set(parents)), "the regenerated run forks from an earlier checkpoint"
    assert page.locator("#error").inner_text() == ""
    assert errors == []
    page.close()


def test_an_origin_not_allowed_is_refused_by_cors(browser, server, origins) -> None:
    _, refused = origins
    api = httpx.Client(base_url=server.url, headers=server.quinn.headers, timeout=30)
    before = api.post("/threads/count", json={}).json()
    page = browser.new_page()
    page.goto(_page_url(refused, server, "quinn"))
    page.fill("#input", "hello")
    page.click("#send")
    expect(page.locator("#error")).not_to_have_text("", timeout=30_000)
    assert "fetch" in page.locator("#error").inner_text().lower()
    # The preflight failed, so the browser never sent the request: nothing was created.
    assert api.post("/threads/count", json={}).json() == before
    preflight = httpx.options(
        f"{server.url}/threads",
        headers={"Origin": refused, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    page.close()
