"""LangChain's agent-chat-ui (a built checkout) against a live threaddesk, in headless Chromium. Opt-in.

Skipped unless `THREADDESK_AGENT_CHAT_UI` names a checkout of
github.com/langchain-ai/agent-chat-ui that `npm run build` has built (see
docs/frontends.md for the one-line font change its offline build needs). The UI
runs under `next start` on its own port (another origin, so CORS is on); it is
given the API URL and assistant id in its URL and the token in its localStorage,
as a user's form would. Checked: a message sent, the reply streamed in, the
thread's id in the URL, reopening the thread from that URL, the thread list,
regenerating a reply and editing a message (both branch from a checkpoint).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from threaddesk.web.compat import GRAPH_ID

CHROMIUM = Path("/usr/bin/chromium")
UI = Path(os.environ.get("THREADDESK_AGENT_CHAT_UI") or "/nonexistent")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

pytestmark = [
    pytest.mark.skipif(
        not (UI / ".next" / "BUILD_ID").exists(),
        reason="set THREADDESK_AGENT_CHAT_UI to a built agent-chat-ui checkout (docs/frontends.md)",
    ),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def next_start(**env: str) -> Iterator[str]:
    """`next start` of the built UI on a free port, with `env` (the API passthrough reads it)."""
    port = _free_port()
    next_bin = UI / "node_modules" / ".bin" / "next"
    if shutil.which("node") is None or not next_bin.exists():
        pytest.skip("the agent-chat-ui checkout has no node_modules: npm install there")
    process = subprocess.Popen(
        [str(next_bin), "start", "-p", str(port), "-H", "127.0.0.1"],
        cwd=UI,
        env={**os.environ, "NEXT_TELEMETRY_DISABLED": "1", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("next start did not come up")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def ui_url() -> Iterator[str]:
    with next_start() as url:
        yield url


@pytest.fixture(scope="module")
def server(fresh_live_server, ui_url):
    return fresh_live_server(["uma"], cors_origins=ui_url, keep_checkpoints=0, run_durability="async")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def _open(browser, ui_url: str, server, query: str = "", api_url: str | None = None):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.add_init_script(f"window.localStorage.setItem('lg:chat:apiKey', {server.uma.token!r});")
    page.goto(f"{ui_url}/?apiUrl={api_url or server.url}&assistantId={GRAPH_ID}{query}")
    return page


def test_agent_chat_ui_against_threaddesk(browser, ui_url, server) -> None:
    errors: list[str] = []
    page = _open(browser, ui_url, server)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.get_by_placeholder("Type your message...").fill("Hi, I'm Uma.")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Hello Uma! How can I help?")).to_be_visible(timeout=30_000)
    page.wait_for_url("**threadId=*", timeout=30_000)
    thread_id = page.url.split("threadId=")[1].split("&")[0]

    api = httpx.Client(base_url=server.url, headers=server.uma.headers, timeout=30)
    thread = api.get(f"/threads/{thread_id}").json()
    assert thread["metadata"].get("graph_id") == GRAPH_ID  # what the UI's thread list searches by

    # Reopening the thread from its URL shows the conversation again (history fetch).
    again = _open(browser, ui_url, server, f"&threadId={thread_id}")
    expect(again.get_by_text("Hi, I'm Uma.").last).to_be_visible(timeout=30_000)
    expect(again.get_by_text("Hello Uma! How can I help?")).to_be_visible()

    # The thread list (threads.search by graph_id) names the thread.
    listed = _open(browser, ui_url, server, f"&threadId={thread_id}&chatHistoryOpen=true")
    expect(listed.get_by_role("button", name="Hi, I'm Uma.").first).to_be_visible(timeout=30_000)

    # A second message streams too.
    again.get_by_placeholder("Type your message...").fill("What's my name?")
    again.keyboard.press("Enter")
    expect(again.get_by_text("Your name is Uma!")).to_be_visible(timeout=30_000)
    assert len(api.get(f"/threads/{thread_id}/state").json()["values"]["messages"]) == 4

    # Regenerate the last reply (its Refresh button: a run from the reply's parent checkpoint):
    # a second branch of the same reply, the thread does not grow.
    again.get_by_role("button", name="Refresh").last.click()
    expect(again.get_by_text("2 / 2")).to_be_visible(timeout=30_000)
    expect(again.get_by_text("Your name is Uma!")).to_be_visible()
    assert len(api.get(f"/threads/{thread_id}/state").json()["values"]["messages"]) == 4

    # Edit the first message: a branch from before it, answered anew.
    again.get_by_role("button", name="Edit").first.click()
    again.locator("textarea:not([placeholder='Type your message...'])").fill("Hi, I'm Ida.")
    again.get_by_role("button", name="Submit").click()
    expect(again.get_by_text("Hello Ida! How can I help?")).to_be_visible(timeout=30_000)
    state = api.get(f"/threads/{thread_id}/state").json()["values"]["messages"]
    assert [m["content"] if isinstance(m["content"], str) else m["content"][0]["text"] for m in state] == [
        "Hi, I'm Ida.",
        "Hello Ida! How can I help?",
    ]
    assert errors == []


def test_agent_chat_ui_through_its_api_passthrough(browser, fresh_live_server) -> None:
    """Its production setup: the browser calls the UI's own /api, which forwards to threaddesk with
    the server's key (`LANGSMITH_API_KEY`) as `X-Api-Key`, bodies labelled text/plain. No CORS."""
    server = fresh_live_server(["uma"])
    with next_start(LANGGRAPH_API_URL=server.url, LANGSMITH_API_KEY=server.uma.token) as ui:
        page = _open(browser, ui, server, api_url=f"{ui}/api")
        page.get_by_placeholder("Type your message...").fill("Hi, I'm Uma.")
        page.keyboard.press("Enter")
        expect(page.get_by_text("Hello Uma! How can I help?")).to_be_visible(timeout=30_000)
        page.wait_for_url("**threadId=*", timeout=30_000)
        thread_id = page.url.split("threadId=")[1].split("&")[0]
        api = httpx.Client(base_url=server.url, headers=server.uma.headers, timeout=30)
        assert api.get(f"/threads/{thread_id}").json()["metadata"]["graph_id"] == GRAPH_ID
