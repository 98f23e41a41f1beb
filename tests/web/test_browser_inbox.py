"""The agents' Inbox in the chat page, in real headless Chromium (as tests/web/test_browser.py runs it).

A customer asks for a person in one browser; an agent sees the conversation in the Inbox in
another, reads it, replies (the customer sees the reply marked as the team's), gets it back when
the customer writes again, and hands it back to the assistant. Under the strict CSP, with no
console error but an API's 4xx, and axe-core finds no violation in the agent's view.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from threaddesk.agent.handoff import STILL_WAITING_TEXT, WAITING_TEXT

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("THREADDESK_SCREENSHOTS") or ROOT / "test-artifacts" / "screenshots")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
API_REFUSAL = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def server(fresh_live_server):
    return fresh_live_server(["carla", "dino", "agent-sam", "agent-tia"])


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def _with_csp(route) -> None:
    response = route.fetch()
    headers = {name.lower(): value for name, value in response.headers.items()}
    headers.setdefault("content-security-policy", CSP)
    route.fulfill(response=response, headers=headers)


@pytest.fixture
def open_page(browser, server):
    contexts, errors = [], []

    def open_(user: str, size: str = "desktop", path: str = "/"):
        context = browser.new_context(viewport=SIZES[size])
        contexts.append(context)
        context.route(lambda url: urlsplit(url).path == "/", _with_csp)
        token = json.dumps(server.users[user].token)
        context.add_init_script(f"sessionStorage.setItem('threaddesk.token', {token});")
        page = context.new_page()
        page.on(
            "console",
            lambda m: errors.append(m.text) if m.type == "error" and not API_REFUSAL.match(m.text) else None,
        )
        page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        page.goto(server.url + path)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], f"the page logged errors: {errors}"


def _say(page, text: str, expected) -> None:
    from playwright.sync_api import expect

    replies = page.locator("#messages li.assistant .text")
    before = replies.count()
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Message", exact=True).press("Enter")
    expect(replies).to_have_count(before + 1)
    expect(replies.last).to_have_text(expected)
    expect(page.get_by_role("button", name="Send")).to_be_enabled()


def _check_accessibility(page, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
    results = Axe().run(
        page, options={"runOnly": {"type": "tag", "values": tags}, "resultTypes": ["violations"]}
    )
    assert results.response["violations"] == [], results.generate_report()


def test_a_customer_asks_for_a_person_and_an_agent_answers_from_the_inbox(server, open_page) -> None:
    from playwright.sync_api import expect

    customer = open_page("carla")
    expect(customer.locator("#whoami")).to_have_text("carla")
    expect(customer.locator("#inbox-section")).to_be_hidden()  # customers have no inbox
    _say(customer, "Hi, I'm Carla.", re.compile("Carla"))
    _say(customer, "Can I talk to a human please?", WAITING_TEXT)

    agent = open_page("agent-sam")
    inbox = agent.get_by_role("list", name="Waiting for a person")
    expect(inbox.get_by_role("link")).to_have_count(1)
    expect(agent.locator("#inbox-count")).to_have_text("(1)")
    inbox.get_by_role("link", name=re.compile(r"Hi, I'm Carla\. \(carla\)")).click()
    expect(agent.locator("#chat-title")).to_have_text("Hi, I'm Carla.")
    expect(agent.locator("#messages li.user .text")).to_have_text(
        ["Hi, I'm Carla.", "Can I talk to a human please?"]
    )
    expect(agent.get_by_role("button", name="Rename")).to_be_hidden()  # not the agent's to rename
    _check_accessibility(agent, "inbox-agent")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    agent.screenshot(path=str(SCREENSHOTS / "inbox-agent-desktop.png"))

    agent.get_by_label("Message", exact=True).fill("Hello Carla, Sam from support here. How can I help?")
    agent.get_by_role("button", name="Reply").click()
    expect(agent.locator("#messages li.human-agent .author")).to_have_text(["agent-sam · support team"])
    expect(agent.locator("#inbox-empty")).to_be_visible()  # answered: out of the queue

    # The customer sees the person's reply, marked as the team's.
    customer.reload()
    expect(customer.locator("#messages li.human-agent .text")).to_have_text(
        "Hello Carla, Sam from support here. How can I help?"
    )
    expect(customer.locator("#messages li.human-agent .author")).to_have_text("agent-sam · support team")
    _say(customer, "My parcel is lost.", STILL_WAITING_TEXT)  # it stays with the people

    agent.reload()
    expect(agent.get_by_role("list", name="Waiting for a person").get_by_role("link")).to_have_count(1)
    expect(agent.locator("#messages li.user .text").last).to_have_text("My parcel is lost.")
    agent.get_by_label("Message", exact=True).fill(
        "I've sent a new one. The assistant can take it from here."
    )
    agent.get_by_role("button", name="Hand back to the assistant").click()
    expect(agent.locator("#messages li.assistant .text").last).to_have_text(
        "agent-sam handed this conversation back to the assistant. How else can I help?"
    )
    expect(agent.locator("#inbox-empty")).to_be_visible()

    customer.reload()
    expect(customer.locator("#messages li.human-agent")).to_have_count(2)
    _say(customer, "What's my name?", "Your name is Carla!")  # the bot again


def test_a_second_agent_answering_the_same_conversation_is_told_someone_was_first(server, open_page) -> None:
    from playwright.sync_api import expect

    customer = open_page("dino")
    _say(customer, "I want a real person", WAITING_TEXT)
    first, second = open_page("agent-sam", "phone"), open_page("agent-tia")
    for agent in (first, second):
        if agent.get_by_role("button", name="Conversations").is_visible():
            agent.get_by_role("button", name="Conversations").click()
        agent.get_by_role("list", name="Waiting for a person").get_by_role("link").first.click()
        expect(agent.locator("#messages li.user .text")).to_have_text(["I want a real person"])
    first.get_by_label("Message", exact=True).fill("Sam here.")
    first.get_by_role("button", name="Reply").click()
    expect(first.locator("#messages li.human-agent")).to_have_count(1)
    second.get_by_label("Message", exact=True).fill("Tia here.")
    second.get_by_role("button", name="Reply").click()
    expect(second.locator("#chat-error")).to_have_text("Someone else answered this conversation first.")
    customer.reload()
    expect(customer.locator("#messages li.human-agent .text")).to_have_text(["Sam here."])
