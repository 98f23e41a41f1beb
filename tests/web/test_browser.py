"""The chat page in real headless Chromium: Alice and Bob chat at once, each sees only their own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def server(fresh_live_server):
    """A server of the browser test's own: its thread lists start empty."""
    return fresh_live_server(["alice", "bob"])


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def _sign_in(browser, server, name: str):
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1100, "height": 700}).new_page()
    page.goto(server.url + "/")
    page.fill("#token", server.users[name].token)
    page.click("#signin-form button")
    expect(page.locator("#whoami")).to_have_text(name)
    return page


def _say(page, text: str, expected: str) -> None:
    from playwright.sync_api import expect

    replies = page.locator("#messages li.assistant")
    before = replies.count()
    page.fill("#message", text)
    page.press("#message", "Enter")
    expect(replies).to_have_count(before + 1)
    expect(replies.last).to_have_text(expected)
    expect(page.locator("#messages li.streaming")).to_have_count(0)


def test_two_users_chat_at_once_and_see_only_their_own(browser, server) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(server.url + "/")
    page.fill("#token", "not-a-token")
    page.click("#signin-form button")
    expect(page.locator("#signin-error")).to_contain_text("not accepted")
    page.close()

    alice = _sign_in(browser, server, "alice")
    bob = _sign_in(browser, server, "bob")
    _say(alice, "Hi, I'm Alice.", "Hello Alice! How can I help?")
    _say(bob, "Hi, I'm Bob.", "Hello Bob! How can I help?")
    _say(alice, "My order 1234 never arrived.", re.compile(r'^Thanks, Alice\. I\'ve noted: "My order 1234'))
    _say(bob, "What's my name?", "Your name is Bob!")
    _say(alice, "What's my name?", "Your name is Alice!")

    expect(alice.locator("#threads li")).to_have_count(1)
    expect(alice.locator("#threads li .title")).to_have_text(["Hi, I'm Alice."])
    expect(bob.locator("#threads li .title")).to_have_text(["Hi, I'm Bob."])

    # A second conversation knows nothing of the first; switching back restores it.
    alice.click("#new-thread")
    expect(alice.locator("#threads li")).to_have_count(2)
    expect(alice.locator("#messages li")).to_have_count(0)
    _say(alice, "What's my name?", "I don't know your name yet. What should I call you?")
    expect(alice.locator("#threads li .title")).to_have_text(["What's my name?", "Hi, I'm Alice."])
    alice.locator("#threads li", has_text="Hi, I'm Alice.").click()
    expect(alice.locator("#messages li")).to_have_count(6)
    expect(alice.locator("#messages li.assistant").last).to_have_text("Your name is Alice!")

    # Reloading keeps the session (token in sessionStorage) and Bob's list is still his alone.
    bob.reload()
    expect(bob.locator("#threads li .title")).to_have_text(["Hi, I'm Bob."])

    ARTIFACTS.mkdir(exist_ok=True)
    alice.screenshot(path=str(ARTIFACTS / "chat-page.png"))
