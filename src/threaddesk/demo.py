"""The multi-thread support exercise, run on the real library.

`python exercises/4-Thursday/starter_code/pair_exercise_02_starter.py` and
`threaddesk demo` both run `main()`. Every reply printed comes from the agent
reading that thread's own checkpointed history.
"""

from __future__ import annotations

from collections.abc import Callable

from threaddesk.config import Settings
from threaddesk.errors import ThreadNotFound
from threaddesk.sync import ThreadDesk

Print = Callable[[str], None]

# (thread id, owner, display name, message) in the order the turns happen.
PARALLEL_TURNS = [
    ("alice_session", "alice", "Alice", "Hi, I'm Alice."),
    ("bob_session", "bob", "Bob", "Hey, I'm Bob."),
    ("alice_session", "alice", "Alice", "What's my name?"),
    ("bob_session", "bob", "Bob", "Do you know who I am?"),
]

# A support agent juggling three customers: (thread id, owner, name, messages, concern).
CUSTOMERS = [
    ("carol_session", "carol", "Carol", ["Hi, I'm Carol.", "My order #1042 arrived damaged."]),
    ("dave_session", "dave", "Dave", ["Hey, I'm Dave.", "I can't log in to my account."]),
    ("erin_session", "erin", "Erin", ["Hello, this is Erin.", "I was charged twice this month."]),
]
RETURN_QUESTIONS = {
    "carol_session": ["Who am I?", "What was my issue again?"],
    "dave_session": ["Do you remember my name?", "What was my problem?"],
    "erin_session": ["What's my name?", "Remind me what I asked about?"],
}


def create_thread_manager(database_url: str = "memory", settings: Settings | None = None) -> ThreadDesk:
    """Open the desk: a thread registry plus the agent's checkpointed memory.

    `settings` (default: from `THREADDESK_*`) choose the model; `database_url` wins over theirs.
    The demo is the built-in agent's: a `config` naming other graphs is left out.
    """
    settings = (settings or Settings()).model_copy(update={"config": None})
    return ThreadDesk.open(settings, database_url=database_url)


def _turn(desk: ThreadDesk, thread_id: str, user_id: str, name: str, text: str, out: Print) -> str:
    reply = desk.send(thread_id, text, user_id=user_id, create=True).text
    out(f"  {name}: {text}")
    out(f"  Agent: {reply}")
    return reply


def run_parallel_conversations(desk: ThreadDesk, out: Print = print) -> dict[str, list[str]]:
    """Alice and Bob introduce themselves on their own threads, turns interleaved."""
    out("=== Parallel Conversations ===")
    out("")
    replies: dict[str, list[str]] = {}
    for thread_id, user_id, name, text in PARALLEL_TURNS:
        out(f"Thread: {thread_id}")
        replies.setdefault(thread_id, []).append(_turn(desk, thread_id, user_id, name, text, out))
        out("")
    return replies


def check_thread_isolation(desk: ThreadDesk, out: Print = print) -> bool:
    """Ask each thread who the customer is; each must name its own customer only."""
    out("=== Thread Isolation Test ===")
    ok = True
    for thread_id, user_id, name, other in (
        ("alice_session", "alice", "Alice", "Bob"),
        ("bob_session", "bob", "Bob", "Alice"),
    ):
        reply = desk.send(thread_id, "What's my name?", user_id=user_id).text
        stored = " ".join(m.content for m in desk.history(thread_id, user_id=user_id))
        if name in reply and other not in reply and other not in stored:
            out(f"[OK] {thread_id} correctly identifies user as {name}")
        else:
            out(f"[FAIL] {thread_id} answered {reply!r}; expected {name} and no trace of {other}")
            ok = False
    out("[OK] Threads are properly isolated!" if ok else "[FAIL] Threads leak into each other!")
    return ok


def demonstrate_thread_switching(desk: ThreadDesk, out: Print = print) -> bool:
    """One agent, three customers: leave each thread, come back, and find its context intact."""
    out("=== Thread Switching Demo ===")
    out("[INFO] One support agent, three customers, switching between their threads")
    for thread_id, user_id, name, messages in CUSTOMERS:
        out("")
        out(f"-> switch to {thread_id}")
        for text in messages:
            _turn(desk, thread_id, user_id, name, text, out)

    ok = True
    for thread_id, user_id, name, messages in CUSTOMERS:
        out("")
        out(f"<- back to {thread_id}")
        who, what = (_turn(desk, thread_id, user_id, name, q, out) for q in RETURN_QUESTIONS[thread_id])
        others = [n for _, _, n, _ in CUSTOMERS if n != name]
        if name in who and messages[1] in what and not any(n in who + what for n in others):
            out(f"[OK] {thread_id} recalled {name} and their issue")
        else:
            out(f"[FAIL] {thread_id} lost its context")
            ok = False

    out("")
    try:
        desk.send("zoe_session", "Hi, I'm Zoe.", user_id="zoe")
        out("[FAIL] An unknown thread id silently started a new conversation")
        ok = False
    except ThreadNotFound as exc:
        out(f"[OK] Unknown thread rejected: {exc}")
    out("[OK] Thread switching preserves context!" if ok else "[FAIL] Thread switching lost context!")
    return ok


def main(database_url: str = "memory", out: Print = print, settings: Settings | None = None) -> int:
    """Run the whole exercise; 0 if every check passed, 1 otherwise (`settings` choose the model)."""
    out("=== Multi-Thread Support Test ===")
    out("")
    out("[INFO] Creating thread manager...")
    with create_thread_manager(database_url, settings) as desk:
        desk.seed_demo_orders()  # for the support tools ("Where is my order 1042?"), silently
        out("[OK] Thread manager ready")
        out("")
        replies = run_parallel_conversations(desk, out)
        parallel_ok = (
            replies["alice_session"][-1] == "Your name is Alice!"
            and replies["bob_session"][-1] == "Yes, you're Bob!"
        )
        isolated = check_thread_isolation(desk, out)
        out("")
        switching = demonstrate_thread_switching(desk, out)
    return 0 if parallel_ok and isolated and switching else 1
