"""What the offline model does with the support tools: which one to call, and what to say from its result.

Like its replies, a pure function of the messages it is given. The latest
customer message asks for a tool when it names an order and either asks where
it is ("where is my order 1042?", "has order #1043 shipped?") → `lookup_order`,
or asks for a refund, return, cancellation or replacement ("I want a refund
for order 1042") → `open_ticket`. A request without a number followed by a
message giving one ("Where is my order?" … "It's 1042.") counts too. Negated
requests ("I don't want a refund") and mere mentions ("my refund is late") ask
for nothing. Only tools the model was bound to are called. Once the tools'
results are back, the answer is worded from them (`answer_from_results`).

A call's id is a hash of the conversation it answers, so a turn retried on the
same state (after a failure rolled it back) makes the same call, and
`open_ticket`, idempotent per (thread, call id), opens no second ticket.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolCall, ToolMessage

from threaddesk.agent.reading import order_numbers
from threaddesk.agent.sentences import message_text, sentences

LOOKUP_ORDER = "lookup_order"
OPEN_TICKET = "open_ticket"
_DETAILS_LIMIT = 500

_OBJECT = r"(?:(?:my|the|our|this|that) )?(?:(?:order|parcel|package|shipment|delivery)\b|#\d)"
_LOOKUP = re.compile(
    "|".join(
        f"(?:{p})"
        for p in (
            rf"\bwhere (?:is|s|are|re)? ?{_OBJECT}",
            rf"\b(?:status|update|news|eta|tracking(?: number| info)?) (?:of|on|for) {_OBJECT}",
            r"\b(?:order|parcel|package|shipment|delivery) status\b",
            rf"\btrack(?:ing)? {_OBJECT}",
            rf"\b(?:has|have|did|is|was) {_OBJECT}.*\b(?:shipped|arrived|dispatched|delivered|sent|left)\b",
            rf"\bwhen (?:will|is|does|should|do i get|can i expect|will i get) {_OBJECT}",
            rf"\b(?:check|look up|lookup|look into|find|locate) (?:on )?{_OBJECT}",
            rf"\bwhat(?: s| is)? happen(?:ed|ing) (?:to|with) {_OBJECT}",
        )
    )
)
# Words that ask for something, then (only filler between) what is asked: "I'd like to get a refund",
# "could you cancel order 1042", "please replace it"; or a sentence opening on the verb ("Refund order 1042").
_REQUEST = (
    r"\bi (?:want|wanna|d like|would like|need|wish|demand|d love|m requesting|am requesting|request|"
    r"m asking for|am asking for)|\bid like|\b(?:can|could|may) i|\b(?:can|could|would|will) you|"
    r"\bplease|\blet me"
)
_FILLER = (
    r"(?:to|a|an|my|the|full|partial|get|have|request|ask for|make|process|start|open|issue|for|it|this|that|"
    r"order|orders|of|on|and|be|me|us|just|please|#?\d+)"
)
_REASONS = (
    ("refund", r"refund|money back|reimburse(?:ment)?"),
    ("return", r"return|send (?:it|this|them) back"),
    ("cancellation", r"cancel(?:lation|led|ed|ing)?"),
    ("replacement", r"replace(?:ment)?|exchange"),
)
_TICKET = [
    (reason, re.compile(rf"(?:(?:{_REQUEST})(?: {_FILLER})* |^(?:please )?)(?:{words})\b"))
    for reason, words in _REASONS
]
_NEGATION = re.compile(r"\b(?:don t|dont|do not|doesn t|didn t|never|no longer|not|no need)\b")
_BARE_NUMBER = re.compile(r"(?<![\w.,])#?(\d{3,9})(?![\w.,]\d)")
_CLAUSES = re.compile(r"[,;]| but | however ")


@dataclass(frozen=True)
class Intent:
    """What a message asks a tool for: `lookup_order`, or `open_ticket` with a reason."""

    tool: str
    reason: str | None = None


def _plain(text: str) -> str:
    """Lower case, apostrophes and punctuation as spaces, `#` kept ("Where's #1042?" → "where s #1042")."""
    return " ".join(re.sub(r"[^\w#]+", " ", text.lower().replace("’", "'").replace("'", " ")).split())


def intent_of(text: str) -> Intent | None:
    """The tool a customer message asks for, if any (a ticket before a lookup)."""
    lookup = False
    for sentence in sentences(text):
        for clause in _CLAUSES.split(_plain(sentence)):
            clause = clause.strip()
            for reason, pattern in _TICKET:
                match = pattern.search(clause)
                if match and not _NEGATION.search(clause[: match.end()]):
                    return Intent(OPEN_TICKET, reason)
            lookup = lookup or bool(_LOOKUP.search(clause))  # read-only: "don't know where it is" asks too
    return Intent(LOOKUP_ORDER) if lookup else None


def order_number_in(text: str) -> int | None:
    """The first order number a message gives: "order 1042", "#1042", or a bare number of 3 to 9 digits."""
    numbers = order_numbers(text) or _BARE_NUMBER.findall(text)
    for number in numbers:
        if 0 < int(number) < 2**31:
            return int(number)
    return None


def _call_id(tool: str, args: dict[str, Any], messages: Sequence[BaseMessage]) -> str:
    said = [(m.type, message_text(m)) for m in messages if not isinstance(m, SystemMessage)]
    digest = hashlib.sha256(json.dumps([tool, args, said], sort_keys=True).encode("utf-8")).hexdigest()
    return f"call_{digest[:24]}"


def tool_call_for(messages: Sequence[BaseMessage], tools: Collection[str]) -> ToolCall | None:
    """The call the latest customer message asks for, if it asks for one of `tools` (and the
    conversation does not already end on a tool's result)."""
    if not tools or not messages or not isinstance(messages[-1], HumanMessage):
        return None
    human = [message_text(m) for m in messages if isinstance(m, HumanMessage)]
    latest = human[-1]
    intent, number, said = intent_of(latest), order_number_in(latest), latest
    if intent is None and number is not None and len(human) > 1:
        earlier = intent_of(human[-2])  # "Where is my order?" … "It's 1042."
        if earlier is not None and order_number_in(human[-2]) is None:
            intent, said = earlier, f"{human[-2]} {latest}"
    if intent is None or number is None or intent.tool not in tools:
        return None
    args: dict[str, Any] = {"order_id": number}
    if intent.tool == OPEN_TICKET:
        args.update(reason=intent.reason, details=" ".join(said.split())[:_DETAILS_LIMIT])
    return ToolCall(name=intent.tool, args=args, id=_call_id(intent.tool, args, messages), type="tool_call")


def pending_results(messages: Sequence[BaseMessage]) -> list[tuple[ToolCall, ToolMessage]] | None:
    """The calls of the model's last message and their results, if the conversation ends on them."""
    if not messages or not isinstance(messages[-1], ToolMessage):
        return None
    results: dict[str, ToolMessage] = {}
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            results[message.tool_call_id] = message
        elif isinstance(message, AIMessage) and message.tool_calls:
            return [(call, results[call["id"]]) for call in message.tool_calls if call["id"] in results]
        else:
            break
    return []


def _order_words(order: dict[str, Any]) -> str:
    number, item, status = order.get("order_id"), order.get("item"), order.get("status")
    what = f"Order #{number} ({item})"
    carrier, tracking, date = order.get("carrier"), order.get("tracking"), order.get("arrives_on")
    if status == "processing":
        return f"{what} is being prepared: it was placed on {order.get('placed_on')} and has not shipped yet."
    if status == "shipped":
        via = f" with {carrier}" if carrier else ""
        track = f", tracking number {tracking}" if tracking else ""
        due = f", expected on {date}" if date else ""
        return f"{what} is on its way: shipped{via}{track}{due}."
    if status == "delivered":
        when = f" on {date}" if date else ""
        by = f" by {carrier}" if carrier else ""
        track = f" (tracking number {tracking})" if tracking else ""
        return f"{what} was delivered{when}{by}{track}."
    if status == "cancelled":
        return f"{what} was cancelled."
    return f"{what} is {status}."


_REASON_WORDS = {
    "refund": "a refund",
    "return": "a return",
    "cancellation": "a cancellation",
    "replacement": "a replacement",
}


def _result_words(call: ToolCall, result: ToolMessage, you: str) -> str:
    try:
        data = json.loads(message_text(result)) if result.status != "error" else None
    except ValueError:
        data = None
    number = call["args"].get("order_id")
    if not isinstance(data, dict) or "error" in data:
        return f"Sorry{you}, I couldn't check that just now. Please try again in a moment."
    if data.get("found") is False:
        return f"I couldn't find an order #{number} on your account{you}. Could you check the number?"
    ticket = data.get("ticket") or {}
    if call["name"] == LOOKUP_ORDER and "order" in data:
        return _order_words(data["order"])
    if call["name"] == OPEN_TICKET and ticket:
        asked = _REASON_WORDS.get(str(ticket.get("reason")), "your request")
        order = data.get("order") or {}
        about = f"order #{ticket.get('order_id')}" + (f" ({order['item']})" if order.get("item") else "")
        if data.get("already_open"):
            number = ticket.get("ticket_id")
            return f"You already have ticket #{number} open for {asked} on {about}; our team is on it."
        return (
            f"I've opened ticket #{ticket.get('ticket_id')} for {asked} on {about}{you}. "
            "Our support team will follow up on it."
        )
    return f"Done{you}."


def answer_from_results(results: Sequence[tuple[ToolCall, ToolMessage]], name: str | None) -> str:
    """The answer to the customer from the tools' results, in the order the calls were made."""
    you = f", {name}" if name else ""
    if not results:
        return f"Sorry{you}, I couldn't check that just now. Please try again in a moment."
    words = [_result_words(call, result, you) for call, result in results]
    return f"{' '.join(words)} Is there anything else I can help with?"
