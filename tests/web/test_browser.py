"""The chat page in real headless Chromium, at desktop (1280x800) and phone (390x844) sizes.

Every page is served under the strict Content-Security-Policy the server sends (added here if the
app does not send one), and any console error other than an API's 4xx answer, or any uncaught
exception, fails the test: a CSP violation, an unhandled rejection and a script error all show there.
axe-core checks WCAG 2.1 A/AA and best practices in each state worth checking. Screenshots and axe
results go to test-artifacts/screenshots/ (or $THREADDESK_SCREENSHOTS), which CI keeps.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("THREADDESK_SCREENSHOTS") or ROOT / "test-artifacts" / "screenshots")
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
# The server's own policy where it sends one; this one where it does not (the same, word for word).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
# What Chromium logs for an API answer of 4xx: expected where a test provokes one.
API_REFUSAL = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d")
TESTS = ["new", "long", "keys", "links", "edit", "gone", "tools"]
USERS = ["alice", "bob", "many"] + [f"{test}-{size}" for test in TESTS for size in SIZES]
PAGE_SIZE = 50  # app.js asks for this many threads at a time

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def server(fresh_live_server):
    """A server of the browser tests' own: every user's thread list starts empty."""
    return fresh_live_server(USERS)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(params=list(SIZES))
def size(request: pytest.FixtureRequest) -> str:
    return request.param


class Desk:
    """The native API as one user, to set a scene or check what the page did."""

    def __init__(self, server, user: str) -> None:
        self.client = httpx.Client(base_url=server.url, headers=server.users[user].headers, timeout=30)

    def create(self, title: str | None = None) -> str:
        response = self.client.post("/threads", json={"title": title} if title else {})
        response.raise_for_status()
        return response.json()["thread_id"]

    def say(self, thread_id: str, text: str) -> str:
        response = self.client.post(f"/threads/{thread_id}/messages", json={"content": text})
        response.raise_for_status()
        return response.json()["message"]["content"]

    def threads(self) -> list[dict]:
        response = self.client.get("/threads", params={"limit": 1000})
        response.raise_for_status()
        return response.json()["threads"]

    def status(self, thread_id: str) -> int:
        return self.client.get(f"/threads/{thread_id}/messages").status_code

    def delete(self, thread_id: str) -> None:
        self.client.delete(f"/threads/{thread_id}").raise_for_status()


def _with_csp(route) -> None:
    response = route.fetch()
    headers = {name.lower(): value for name, value in response.headers.items()}
    headers.setdefault("content-security-policy", CSP)
    route.fulfill(response=response, headers=headers)


@pytest.fixture
def open_page(browser, server) -> Iterator[Callable[..., object]]:
    """`open_page(size, user=None, path="/", fake_clock=False)`: a new browser context on the page.

    It is signed in as `user` if given, with Playwright's clock installed if `fake_clock`.

    Signing in is done by storing the token as the sign-in form does (the form has its own test).
    At teardown, no console error (but an API's 4xx) and no uncaught exception may have happened.
    """
    contexts = []
    errors: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and not API_REFUSAL.match(message.text):
            errors.append(f"console: {message.text}")

    def open_(size: str, user: str | None = None, path: str = "/", fake_clock: bool = False):
        context = browser.new_context(viewport=SIZES[size])
        contexts.append(context)
        if fake_clock:  # runs on as usual, but a test may jump it forward
            context.clock.install()
        context.route(lambda url: urlsplit(url).path == "/", _with_csp)
        if user is not None:
            token = json.dumps(server.users[user].token)
            context.add_init_script(f"sessionStorage.setItem('threaddesk.token', {token});")
        page = context.new_page()
        page.on("console", on_console)
        page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
        page.goto(server.url + path)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], "the page logged errors"


def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _check_accessibility(page, name: str) -> None:
    """axe-core on the page as it is now: no violation of any impact; the counts go to a file."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
    results = Axe().run(page, options=options)
    violations = results.response["violations"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    summary = {
        "rules_run": AXE_TAGS,
        "violations_by_impact": dict(Counter(v["impact"] for v in violations)),
        "violations": [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in violations],
    }
    (SCREENSHOTS / f"axe-{name}.json").write_text(json.dumps(summary, indent=2))
    assert violations == [], results.generate_report()


def _say(page, text: str, expected: str | re.Pattern[str]) -> None:
    from playwright.sync_api import expect

    replies = page.locator("#messages li.assistant .text")
    before = replies.count()
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Message", exact=True).press("Enter")
    expect(replies).to_have_count(before + 1)
    expect(replies.last).to_have_text(expected)
    expect(page.locator("#messages li.streaming")).to_have_count(0)
    expect(page.get_by_role("button", name="Send")).to_be_enabled()  # the turn is over


def _open_drawer_on_phone(page, size: str) -> None:
    from playwright.sync_api import expect

    toggle = page.get_by_role("button", name="Conversations")
    if size == "phone" and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
        expect(page.locator("#sidebar")).to_be_visible()


def _in_viewport(page, selector: str) -> bool:
    return page.eval_on_selector(
        selector,
        """(el) => { const r = el.getBoundingClientRect();
           return r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth; }""",
    )


def _thread_in_url(page) -> str | None:
    match = re.search(r"#thread=(.+)$", page.url)
    return match and match.group(1)


def test_the_page_runs_under_a_strict_content_security_policy(browser, server) -> None:
    """The header is really enforced here: an inline script is refused while the page's own file runs."""
    from playwright.sync_api import expect

    context = browser.new_context()
    context.route(lambda url: urlsplit(url).path == "/", _with_csp)
    page = context.new_page()
    page.goto(server.url + "/")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()  # shown by app.js
    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        page.evaluate(
            "document.body.append(Object.assign(document.createElement('script'), {text: 'window.ran = 1'}))"
        )
    assert page.evaluate("window.ran") is None
    context.close()


def test_two_users_chat_at_once_and_see_only_their_own(browser, server, open_page) -> None:
    from playwright.sync_api import expect

    page = open_page("desktop")
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-error")).to_contain_text("not accepted")

    def sign_in(name: str):
        page = open_page("desktop")
        page.get_by_label("API token").fill(server.users[name].token)
        page.get_by_label("API token").press("Enter")
        expect(page.locator("#whoami")).to_have_text(name)
        return page

    alice, bob = sign_in("alice"), sign_in("bob")
    _say(alice, "Hi, I'm Alice.", re.compile("Alice"))
    _say(bob, "Hi, I'm Bob.", re.compile("Bob"))
    _say(alice, "My order 1234 never arrived.", re.compile(r"\S"))
    _say(bob, "What's my name?", re.compile(r"\bBob\b"))
    _say(alice, "What's my name?", re.compile(r"\bAlice\b"))

    expect(alice.locator("#threads .title")).to_have_text(["Hi, I'm Alice."])
    expect(bob.locator("#threads .title")).to_have_text(["Hi, I'm Bob."])

    # A second conversation knows nothing of the first; switching back restores it.
    alice.get_by_role("button", name="+ New conversation").click()
    expect(alice.locator("#messages li")).to_have_count(0)
    expect(alice.locator("#new-hint")).to_have_text(
        "This conversation starts when you send its first message."
    )
    _say(alice, "What's my name?", re.compile(r"^(?!.*Alice)"))
    expect(alice.locator("#threads .title")).to_have_text(["What's my name?", "Hi, I'm Alice."])
    alice.get_by_role("link", name=re.compile("Hi, I'm Alice.")).click()
    expect(alice.locator("#messages li")).to_have_count(6)
    expect(alice.locator("#messages li.assistant .text").last).to_contain_text("Alice")

    # Reloading keeps the session (token in sessionStorage) and Bob's list is still his alone.
    bob.reload()
    expect(bob.locator("#threads .title")).to_have_text(["Hi, I'm Bob."])
    _screenshot(alice, "two-users-desktop")

    # Signing out forgets the token and the open thread.
    alice.get_by_role("button", name="Sign out").click()
    expect(alice.get_by_label("API token")).to_be_focused()
    assert _thread_in_url(alice) is None
    alice.reload()
    expect(alice.get_by_role("button", name="Sign in")).to_be_visible()


def test_a_new_user_gets_a_hint_and_a_conversation_starts_with_its_first_message(
    server, open_page, size
) -> None:
    from playwright.sync_api import expect

    user = f"new-{size}"
    desk = Desk(server, user)
    page = open_page(size, user)
    expect(page.get_by_role("heading", name="Welcome to threaddesk")).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_be_focused()
    _check_accessibility(page, f"empty-{size}")
    _screenshot(page, f"empty-{size}")

    # "+ New conversation" only clears the pane: nothing is stored until something is said.
    _open_drawer_on_phone(page, size)
    expect(page.locator("#threads-empty")).to_be_visible()
    for _ in range(3):
        _open_drawer_on_phone(page, size)
        page.get_by_role("button", name="+ New conversation").click()
    assert desk.threads() == []

    _say(page, "Hi, I'm Zed.\nMy parcel never came.", re.compile("Zed"))
    [thread] = desk.threads()
    assert thread["title"] == "Hi, I'm Zed. My parcel never came."
    assert _thread_in_url(page) == thread["thread_id"]
    expect(page.locator("#chat-title")).to_have_text("Hi, I'm Zed. My parcel never came.")
    expect(page.locator("#empty-state")).to_be_hidden()
    expect(page.locator("#threads a[aria-current=page]")).to_have_count(1)


def test_a_long_conversation_scrolls_in_its_pane_with_the_composer_in_view(server, open_page, size) -> None:
    from playwright.sync_api import expect

    desk = Desk(server, f"long-{size}")
    thread_id = desk.create("A long one")
    for turn in range(12):
        desk.say(thread_id, f"Message number {turn}: my order 55{turn} is late.")
    word = "Supercalifragilistic" * 20  # 400 letters, no break opportunity
    desk.say(thread_id, word)
    page = open_page(size, f"long-{size}", f"/#thread={thread_id}")
    expect(page.locator("#messages li")).to_have_count(26)

    viewport = SIZES[size]
    composer = page.locator("#composer").bounding_box()
    assert composer["y"] >= 0 and composer["y"] + composer["height"] <= viewport["height"]
    page_scrolls = page.evaluate("document.scrollingElement.scrollHeight > innerHeight")
    pane = page.eval_on_selector("#messages", "(el) => [el.scrollHeight, el.clientHeight, el.scrollTop]")
    assert not page_scrolls and pane[0] > pane[1], "the message pane, not the page, scrolls"
    assert pane[2] + pane[1] >= pane[0] - 2, "the pane opens at the latest message"
    assert _in_viewport(page, "#messages li:last-child")

    long_bubble = page.locator("#messages li.user", has_text=word[:40])
    width = long_bubble.evaluate("(el) => [el.scrollWidth, el.clientWidth, el.getBoundingClientRect().right]")
    assert width[0] <= width[1] and width[2] <= viewport["width"], "a long word wraps inside its bubble"

    box = page.get_by_label("Message", exact=True).bounding_box()
    assert box["width"] >= 0.6 * viewport["width"] - 100, f"the text box is {box['width']}px wide"
    # The box grows with what is typed, up to a point, and the composer stays in view.
    box_height = box["height"]
    page.get_by_label("Message", exact=True).fill("A line\n" * 30)
    grown = page.get_by_label("Message", exact=True).bounding_box()["height"]
    assert box_height < grown <= 0.35 * viewport["height"] + 1
    assert _in_viewport(page, "#composer")
    _say(page, "Thanks for the help!", re.compile(r"\S"))
    assert _in_viewport(page, "#messages li:last-child") and _in_viewport(page, "#composer")
    _check_accessibility(page, f"long-{size}")
    _screenshot(page, f"long-{size}")


def test_keyboard_and_screen_reader_basics(server, open_page, size) -> None:
    from playwright.sync_api import expect

    user = f"keys-{size}"
    desk = Desk(server, user)
    first = desk.create("First question")
    desk.say(first, "Hi, I'm Kim.")
    second = desk.create("Second question")
    page = open_page(size, user, fake_clock=True)
    expect(page.get_by_role("navigation", name="Conversations", include_hidden=True)).to_be_attached()
    expect(page.get_by_role("main")).to_be_visible()
    expect(page.get_by_role("status")).to_be_attached()

    toggle = page.get_by_role("button", name="Conversations")
    sidebar = page.locator("#sidebar")
    if size == "desktop":
        expect(toggle).to_be_hidden()
        expect(sidebar).to_be_visible()
    else:
        # The list is a drawer: out of sight and out of the tab order until opened from the keyboard.
        expect(sidebar).to_be_hidden()
        box = page.get_by_label("Message", exact=True).bounding_box()
        assert box["width"] >= 250, f"the text box is {box['width']}px wide"
        toggle.focus()
        page.keyboard.press("Enter")
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(sidebar).to_be_visible()
        expect(page.get_by_role("button", name="+ New conversation")).to_be_focused()
        _check_accessibility(page, "drawer-phone")
        _screenshot(page, "drawer-phone")
        page.keyboard.press("Escape")
        expect(sidebar).to_be_hidden()
        expect(toggle).to_be_focused()
        page.keyboard.press("Enter")

    # Tab from "+ New conversation" reaches each thread in order; Enter opens it.
    page.get_by_role("button", name="+ New conversation").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name=re.compile("Second question"))).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name=re.compile("First question"))).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#chat-title")).to_have_text("First question")
    expect(page.get_by_role("link", name=re.compile("First question"))).to_have_attribute(
        "aria-current", "page"
    )
    assert _thread_in_url(page) == first
    expect(sidebar).to_be_visible() if size == "desktop" else expect(sidebar).to_be_hidden()

    # Typing and Enter send; the finished reply (not each token) is read out by the status region.
    page.get_by_label("Message", exact=True).focus()
    page.keyboard.type("What's my name?")
    page.keyboard.press("Enter")
    expect(page.locator("#announcer")).to_have_text(re.compile(r"^Reply: .*\bKim\b"))
    expect(page.locator("#messages li.assistant .visually-hidden").last).to_have_text("Assistant: ")
    assert second in {t["thread_id"] for t in desk.threads()}

    # The list's "ago" labels keep up with the time the page stays open.
    when = page.locator("#threads li", has_text="Second question").locator("time")
    expect(when).to_have_text("just now")
    page.clock.fast_forward("10:00")
    expect(when).to_have_text("10m ago")
    _check_accessibility(page, f"keyboard-{size}")


@pytest.fixture(scope="module")
def many_threads(server) -> dict[str, str]:
    """A page and a bit of threads for the user "many" (only read by the tests): title -> id, newest first."""
    desk = Desk(server, "many")
    titles = [f"Thread {number:02d}" for number in range(PAGE_SIZE + 5)]
    ids = [desk.create(title) for title in titles]
    return dict(reversed(list(zip(titles, ids, strict=True))))


def test_more_threads_load_as_the_list_scrolls(open_page, size, many_threads) -> None:
    from playwright.sync_api import expect

    page = open_page(size, "many")
    _open_drawer_on_phone(page, size)
    links = page.locator("#threads a")
    expect(links).to_have_count(PAGE_SIZE)
    expect(page.get_by_role("button", name="Load more conversations")).to_be_attached()

    page.locator("#threads li").last.scroll_into_view_if_needed()
    expect(links).to_have_count(len(many_threads))
    assert links.locator(".title").all_text_contents() == list(many_threads)
    expect(page.get_by_role("button", name="Load more conversations")).to_be_hidden()
    _screenshot(page, f"many-{size}")

    # A link to a thread beyond the first page opens it too, with its title.
    page = open_page(size, "many", f"/#thread={many_threads['Thread 00']}")
    expect(page.locator("#chat-title")).to_have_text("Thread 00")
    expect(page.get_by_role("button", name="Rename")).to_be_visible()


def test_the_url_carries_the_open_thread(server, open_page, size) -> None:
    from playwright.sync_api import expect

    user = f"links-{size}"
    desk = Desk(server, user)
    old = desk.create("Older")
    desk.say(old, "My order 9911 is late.")
    new = desk.create("Newer")
    desk.say(new, "Hi, I'm Lou.")

    # A link to a thread opens it, once signed in through the form.
    page = open_page(size, None, f"/#thread={old}")
    _check_accessibility(page, f"signin-{size}")
    page.get_by_label("API token").fill(server.users[user].token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#chat-title")).to_have_text("Older")
    expect(page.locator("#messages li.user .text")).to_have_text(["My order 9911 is late."])

    _open_drawer_on_phone(page, size)
    page.get_by_role("link", name=re.compile("Newer")).click()
    expect(page.locator("#messages li.user .text")).to_have_text(["Hi, I'm Lou."])
    assert _thread_in_url(page) == new
    page.reload()
    expect(page.locator("#chat-title")).to_have_text("Newer")
    expect(page.locator("#messages li.user .text")).to_have_text(["Hi, I'm Lou."])
    page.go_back()
    expect(page.locator("#chat-title")).to_have_text("Older")
    expect(page.locator("#messages li.user .text")).to_have_text(["My order 9911 is late."])

    # A link to a thread that is not (or no longer) there says so.
    page.goto(f"{page.url.split('#')[0]}#thread=no-such-thread")
    expect(page.locator("#chat-error")).to_contain_text("no longer exists")
    assert _thread_in_url(page) is None


def test_rename_and_delete_in_the_page(server, open_page, size) -> None:
    from playwright.sync_api import expect

    user = f"edit-{size}"
    desk = Desk(server, user)
    thread_id = desk.create()
    desk.say(thread_id, "My parcel was damaged.")
    page = open_page(size, user, f"/#thread={thread_id}")
    expect(page.locator("#chat-title")).to_have_text("Untitled conversation")

    page.get_by_role("button", name="Rename").click()
    dialog = page.get_by_role("dialog", name="Rename conversation")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Title")).to_be_focused()
    _check_accessibility(page, f"rename-{size}")
    _screenshot(page, f"rename-{size}")
    dialog.get_by_label("Title").fill("Damaged parcel")
    dialog.get_by_label("Title").press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#chat-title")).to_have_text("Damaged parcel")
    expect(page.locator("#announcer")).to_have_text("Renamed to Damaged parcel")
    _open_drawer_on_phone(page, size)
    expect(page.locator("#threads .title")).to_have_text(["Damaged parcel"])
    page.keyboard.press("Escape")
    assert [t["title"] for t in desk.threads()] == ["Damaged parcel"]

    # Cancel keeps it; Delete asks, then removes it here and on the server.
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete conversation?")
    expect(dialog).to_contain_text("Damaged parcel")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert desk.status(thread_id) == 200
    page.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#chat-title")).to_have_text("New conversation")
    expect(page.locator("#messages li")).to_have_count(0)
    expect(page.get_by_role("heading", name="Welcome to threaddesk")).to_be_visible()
    assert _thread_in_url(page) is None
    assert desk.status(thread_id) == 404 and desk.threads() == []


def test_a_thread_deleted_elsewhere_is_explained(server, open_page, size) -> None:
    from playwright.sync_api import expect

    user = f"gone-{size}"
    desk = Desk(server, user)
    thread_id = desk.create("Soon gone")
    desk.say(thread_id, "Hi, I'm Max.")
    stale = desk.create("Also gone")
    page = open_page(size, user, f"/#thread={thread_id}")
    expect(page.locator("#messages li")).to_have_count(2)

    # Deleted (say, in another tab) while open: sending says so, keeps the text, leaves no bubble.
    desk.delete(thread_id)
    page.get_by_label("Message", exact=True).fill("Are you still there?")
    page.get_by_label("Message", exact=True).press("Enter")
    expect(page.locator("#chat-error")).to_contain_text("This conversation no longer exists")
    expect(page.locator("#messages li")).to_have_count(0)
    expect(page.get_by_label("Message", exact=True)).to_have_value("Are you still there?")
    expect(page.locator("#chat-title")).to_have_text("New conversation")
    assert _thread_in_url(page) is None
    _check_accessibility(page, f"gone-{size}")
    _screenshot(page, f"gone-{size}")

    # A stale entry in the list says the same when picked.
    desk.delete(stale)
    _open_drawer_on_phone(page, size)
    page.get_by_role("link", name=re.compile("Also gone")).click()
    expect(page.locator("#chat-error")).to_contain_text("This conversation no longer exists")
    expect(page.locator("#threads li")).to_have_count(0)

    # Sending the kept text starts a new thread.
    page.get_by_label("Message", exact=True).press("Enter")
    expect(page.locator("#messages li.assistant .text")).to_have_count(1)
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    expect(page.locator("#chat-error")).to_be_empty()
    assert [t["title"] for t in desk.threads()] == ["Are you still there?"]

    # Any refused turn (here: too large) is taken back on screen too, its text kept in the box.
    too_long = "x" * 2000
    page.get_by_label("Message", exact=True).fill(too_long)
    page.get_by_label("Message", exact=True).press("Enter")
    expect(page.locator("#chat-error")).to_contain_text("exceeds the limit")
    expect(page.locator("#messages li")).to_have_count(2)
    expect(page.get_by_label("Message", exact=True)).to_have_value(too_long)


def test_a_tool_turn_shows_the_question_and_the_answer_only(server, open_page, size) -> None:
    """The agent's tool call (no words) and the tool's result are stored but not drawn."""
    from playwright.sync_api import expect

    user = f"tools-{size}"
    desk = Desk(server, user)
    thread_id = desk.create("Orders")
    answer = desk.say(thread_id, "Where is my order 1042?")  # not theirs (nor seeded): not found
    assert answer.startswith("I couldn't find an order #1042 on your account.")
    assert len(desk.client.get(f"/threads/{thread_id}/messages").json()["messages"]) == 4
    page = open_page(size, user, f"/#thread={thread_id}")
    expect(page.locator("#messages li.user .text")).to_have_text(["Where is my order 1042?"])
    expect(page.locator("#messages li.assistant .text")).to_have_text([answer])
    expect(page.locator("#messages li")).to_have_count(2)
    _say(page, "I want a refund for order 1043", re.compile(r"^I couldn't find an order #1043"))
    page.reload()
    expect(page.locator("#messages li")).to_have_count(4)
    _check_accessibility(page, f"tools-{size}")
