"""The support tools from the terminal: seed the demo shop, chat about an order, read the history."""

from __future__ import annotations

import json

ANSWER = (
    "Order #1042 (Wireless headphones) was delivered on 2026-11-06 by DHL (tracking number DHL-7781042)."
    " Is there anything else I can help with?"
)


def test_chat_shows_the_answer_and_history_shows_the_call(run, stored) -> None:
    seeded = run("db", "seed-demo")
    assert (seeded.exit_code, seeded.stdout) == (0, "seeded 7 demo orders\n")
    chat = run("chat", "-u", "carol", "-t", "c1", input="Where is my order 1042?\n")
    assert (chat.exit_code, chat.stdout) == (0, ANSWER + "\n")  # the answer only: no tool internals
    assert stored.threads()["c1"]["message_count"] == 4
    shown = run("threads", "history", "c1").stdout.splitlines()
    assert shown[0] == "you: Where is my order 1042?"
    assert shown[1] == "agent: → lookup_order(order_id=1042)"
    assert shown[2].startswith('tool: {"found": true, "order": {"order_id": 1042')
    assert shown[-1].startswith("agent: Order #1042 (Wireless headphones) was delivered")
    listed = json.loads(run("threads", "history", "c1", "--json").stdout)
    assert [m["role"] for m in listed] == ["user", "assistant", "tool", "assistant"]
    assert listed[1]["tool_calls"] == ["lookup_order(order_id=1042)"] and "tool_calls" not in listed[3]


def test_someone_elses_order_is_not_found_from_the_terminal_either(run) -> None:
    run("db", "seed-demo")
    chat = run("chat", "-u", "bob", "-t", "b1", input="I want a refund for order 1042\n")
    assert chat.stdout.startswith("I couldn't find an order #1042 on your account.")


def test_without_seeding_orders_are_simply_not_found(run) -> None:
    chat = run("chat", "-u", "carol", "-t", "c1", input="Where is my order 1042?\n")
    assert chat.stdout.startswith("I couldn't find an order #1042 on your account.")


def test_the_demo_seeds_the_shop_and_prints_what_it_always_printed(run) -> None:
    demo = run("demo")
    assert demo.exit_code == 0 and demo.stdout.splitlines()[-1] == "[OK] Thread switching preserves context!"
    assert "order" not in demo.stdout.split("=== Thread Switching Demo ===")[0].lower()
    chat = run("chat", "-u", "carol", "-t", "carol_session", input="Where is my order 1042?\n")
    assert chat.stdout == ANSWER + "\n"  # carol owns #1042 in the demo shop
