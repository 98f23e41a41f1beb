"""Handing a conversation to a human agent: the `handoff_to_human` tool, its two graph nodes, and
the offline model's deterministic rule for when to call it.

The flow, in LangGraph's terms:

1. The model answers with a tool call named `handoff_to_human` (a real LLM when it decides to; the
   offline model when the customer asks for a person, or instead of its second failed answer).
2. `handoff` answers the tool call (a `ToolMessage`, as chat APIs require) and tells the customer a
   person will reply. It is its own node, so that message is checkpointed and streamed *before*
   the run pauses (a node that calls `interrupt()` is re-run from its start when resumed, and what
   it returns is only written once it finishes).
3. `human` calls `interrupt([HumanInterrupt])`: the run pauses and the thread is `interrupted`.
   The value has LangGraph's `HumanInterrupt` shape (`action_request`, `config`, `description`),
   the shape agent-chat-ui's and Agent Inbox's interrupt views render.
4. A human agent resumes it with `Command(resume=HumanResponse)` (or a list of one, as those UIs
   send): `response` stores their reply as an AI message marked as theirs (`name` and
   `additional_kwargs["threaddesk"]`), and the conversation stays with the people: the customer's
   next message goes straight to `handoff` → `human` (another interrupt), not to the bot.
   `accept` hands the conversation back to the bot; `ignore` closes it (the bot answers any
   later message). A `response` may carry `"then": "bot"` or `"close"` to do both at once.

Who answered is not taken from the payload: the desk stamps it (`responder`) from the caller's
identity (see `threaddesk.handoff`), so nobody can answer in someone else's name.

No import from threaddesk beyond `threaddesk.agent`: the conformance suite copies this package
into LangGraph's own server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict, cast

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END
from langgraph.types import interrupt

from threaddesk.agent.sentences import message_text

TOOL_NAME = "handoff_to_human"
MARKER = "threaddesk"  # key in a message's additional_kwargs saying what handoff wrote it
WAITING_TEXT = (
    "I'm passing your conversation to a person from our support team. They will reply here as soon as"
    " they can."
)
STILL_WAITING_TEXT = "Your message is with our support team; a person will reply here."
HANDED_BACK_TEXT = "{agent} handed this conversation back to the assistant. How else can I help?"
CLOSED_TEXT = "{agent} closed this conversation. Write again any time: the assistant will answer."
DESCRIPTION = (
    "The customer is waiting for a person. **Respond** to reply to them (the conversation stays with"
    " the team); **Accept** hands it back to the assistant; **Ignore** closes it."
)
Then = Literal["stay", "bot", "close"]
THEN: tuple[str, ...] = ("stay", "bot", "close")


@tool(TOOL_NAME)
def handoff_to_human(reason: str) -> str:
    """Hand the conversation to a person of the support team: call this when the customer asks
    for a human, or when you cannot help them. `reason` says why, in a few words."""
    return "A person from the support team will take over this conversation."


# --- when the offline model hands over ------------------------------------------------------------

_ASKS_FOR_A_PERSON = re.compile(
    r"""\b(?:
        (?:talk|speak|chat)\s+(?:to|with)\s+(?:a\s+|an\s+|some\s+|the\s+|your\s+)?
            (?:real\s+|live\s+|actual\s+)?(?:human|person|agent|someone|somebody|representative|operator)
      | (?:want|need|get\s+me|give\s+me|connect\s+me\s+(?:to|with))\s+(?:a\s+|an\s+)?
            (?:real\s+|live\s+|actual\s+)?(?:human|person|representative|operator)
      | (?:human|live)\s+agent
      | representative
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)


def asks_for_a_person(text: str) -> bool:
    """Whether the customer asks to talk to a human ("talk to a human", "a real person please",
    "representative", ...). Questions *about* the assistant ("are you a real person?") are not."""
    return bool(_ASKS_FOR_A_PERSON.search(text))


def marker(message: BaseMessage) -> dict[str, Any] | None:
    """What the handoff wrote this message as (`{"from": "human_agent", "agent": ...}` for a human
    agent's reply, `{"from": "handoff", "event": ...}` for the notices), or None."""
    found = message.additional_kwargs.get(MARKER) if isinstance(message, AIMessage) else None
    return found if isinstance(found, dict) else None


def human_agent_of(message: BaseMessage) -> str | None:
    """The human agent who wrote `message`, if a human agent did."""
    found = marker(message)
    if found and found.get("from") == "human_agent":
        return str(found.get("agent") or "")
    return None


_SAYS_IT_FAILED = re.compile(
    r"""\b(?:
        you\s+(?:don't|do\s+not|didn't|did\s+not)\s+(?:understand|get\s+it|help)
      | you(?:'re|\s+are)\s+not\s+(?:understanding|listening|helping|helpful)
      | (?:that|this|it)\s+(?:didn't|did\s+not|doesn't|does\s+not)\s+help
      | (?:that's|that\s+is|this\s+is|it's|it\s+is)\s+not\s+(?:helpful|what\s+i\s+(?:asked|meant|need|wanted))
      | not\s+what\s+i\s+(?:asked|meant)
      | (?:useless|unhelpful|wrong)\s+(?:answer|reply|response)
      | not\s+helpful
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)


def says_it_failed(text: str) -> bool:
    """Whether the customer says the assistant's answer failed them ("that didn't help", "you don't
    understand", "not what I asked", ...)."""
    return bool(_SAYS_IT_FAILED.search(text.replace("\u2019", "'")))


def failed_answers(messages: Sequence[BaseMessage]) -> int:
    """How many of the assistant's answers failed since the people last had the conversation: a
    failed answer is one the customer's next message says did not help (`says_it_failed`); counted
    back to the latest handoff message (the notice, a human agent's reply, a hand back)."""
    count = 0
    for message in reversed(messages):
        if isinstance(message, ToolMessage) or marker(message) is not None:
            break
        if isinstance(message, HumanMessage) and says_it_failed(message_text(message)):
            count += 1
    return count


def handoff_reason(messages: Sequence[BaseMessage]) -> str | None:
    """Why the offline model hands over instead of answering, or None to answer.

    A pure function of the messages: the latest customer message asks for a person; or it is the
    second one since the people last had the conversation to say an answer failed (the first gets
    the model's usual answer; the second, a person).
    """
    customer = [message_text(m) for m in messages if isinstance(m, HumanMessage)]
    if customer and asks_for_a_person(customer[-1]):
        return "the customer asked for a person"
    if customer and says_it_failed(customer[-1]) and failed_answers(messages) >= 2:
        return "the customer said twice that the assistant's answer did not help"
    return None


def handoff_call(messages: Sequence[BaseMessage], reason: str) -> AIMessage:
    """The offline model's tool call, with an id that is a function of the messages (deterministic)."""
    turn = sum(isinstance(m, HumanMessage) for m in messages)
    return AIMessage(
        content="",
        tool_calls=[
            {"name": TOOL_NAME, "args": {"reason": reason}, "id": f"handoff-{turn}", "type": "tool_call"}
        ],
    )


# --- the graph's side -----------------------------------------------------------------------------


def calls_handoff(message: BaseMessage) -> bool:
    """Whether the model's answer asks for a human (a tool call named `handoff_to_human`)."""
    return isinstance(message, AIMessage) and any(call["name"] == TOOL_NAME for call in message.tool_calls)


def route_start(state: Mapping[str, Any]) -> Literal["agent", "handoff"]:
    """While the people have the conversation, the customer's messages go to them, not to the bot."""
    return "handoff" if state.get("with_human") else "agent"


def _notice(text: str, event: str, **extra: Any) -> AIMessage:
    return AIMessage(content=text, additional_kwargs={MARKER: {"from": "handoff", "event": event, **extra}})


def handoff(state: Mapping[str, Any]) -> dict[str, Any]:
    """Answer the tool call (if that is how we got here) and tell the customer a person will reply."""
    messages: Sequence[BaseMessage] = state.get("messages", [])
    last = messages[-1] if messages else None
    written: list[BaseMessage] = []
    if last is not None and calls_handoff(last):
        assert isinstance(last, AIMessage)
        for call in last.tool_calls:
            result = handoff_to_human.invoke(call["args"]) if call["name"] == TOOL_NAME else "Not run."
            written.append(ToolMessage(content=result, tool_call_id=call["id"] or "", name=call["name"]))
        written.append(_notice(WAITING_TEXT, "waiting"))
    else:
        written.append(_notice(STILL_WAITING_TEXT, "still_waiting"))
    return {"messages": written, "with_human": True}


def handoff_request(messages: Sequence[BaseMessage]) -> dict[str, Any]:
    """The interrupt's value: LangGraph's `HumanInterrupt` (`langgraph.prebuilt.interrupt`), as a dict."""
    customer = [message_text(m) for m in messages if isinstance(m, HumanMessage)]
    reason = "the customer wrote again"
    for message in reversed(messages):
        if calls_handoff(message):
            assert isinstance(message, AIMessage)
            reason = str(
                next(c for c in message.tool_calls if c["name"] == TOOL_NAME)["args"].get("reason", "")
            )
            break
        if isinstance(message, HumanMessage):
            break
    return {
        "action_request": {
            "action": TOOL_NAME,
            "args": {"reason": reason, "customer_message": customer[-1] if customer else ""},
        },
        "config": {"allow_ignore": True, "allow_respond": True, "allow_edit": False, "allow_accept": True},
        "description": DESCRIPTION,
    }


def is_handoff_request(value: object) -> bool:
    """Whether an interrupt's value is the one `human` raises (a list of one `handoff_to_human` request)."""
    if isinstance(value, list) and value:
        value = value[0]
    return isinstance(value, Mapping) and (value.get("action_request") or {}).get("action") == TOOL_NAME


class HandoffResponse(TypedDict):
    """A `HumanResponse` as the desk stamps it: the type, the reply text, what then, and who."""

    type: Literal["response", "accept", "ignore"]
    args: str | None
    then: Then
    responder: str | None


def read_response(value: object) -> HandoffResponse:
    """A resume value (a `HumanResponse`, or a list of one as agent-chat-ui sends) as a
    `HandoffResponse`; `ValueError` saying what is wrong for anything else."""
    if isinstance(value, list | tuple):
        if len(value) != 1:
            raise ValueError("resume with one HumanResponse (or a list of exactly one)")
        value = value[0]
    if isinstance(value, str):  # a bare reply, as a plain `interrupt()` would take it
        value = {"type": "response", "args": value}
    if not isinstance(value, Mapping):
        raise ValueError('resume must be a HumanResponse: {"type": "response", "args": "your reply"}')
    kind = value.get("type")
    if kind not in ("response", "accept", "ignore"):
        raise ValueError(
            f"a human agent may respond, accept (hand back) or ignore (close); got type {kind!r}"
        )
    args = value.get("args")
    if kind == "response" and (not isinstance(args, str) or not args.strip()):
        raise ValueError("a response needs its text in args")
    then = value.get("then", "stay") if kind == "response" else ("bot" if kind == "accept" else "close")
    if then not in THEN:
        raise ValueError(f"then must be one of {', '.join(THEN)}, got {then!r}")
    responder = value.get("responder")
    return {
        "type": kind,
        "args": args if kind == "response" else None,
        "then": cast(Then, then),
        "responder": responder if isinstance(responder, str) and responder else None,
    }


def human(state: Mapping[str, Any]) -> dict[str, Any]:
    """Wait for a human agent (`interrupt`), then write what they did."""
    resumed = interrupt([handoff_request(state.get("messages", []))])
    try:
        response = read_response(resumed)
    except ValueError as exc:  # the desk checks before resuming; a direct caller gets the reason
        raise ValueError(f"cannot resume the handoff: {exc}") from exc
    agent = response["responder"] or "A person from the support team"
    written: list[BaseMessage] = []
    if response["type"] == "response":
        written.append(
            AIMessage(
                content=response["args"] or "",
                name=response["responder"],
                additional_kwargs={MARKER: {"from": "human_agent", "agent": response["responder"]}},
            )
        )
    if response["then"] == "bot":
        written.append(
            _notice(HANDED_BACK_TEXT.format(agent=agent), "handed_back", agent=response["responder"])
        )
    elif response["then"] == "close":
        written.append(_notice(CLOSED_TEXT.format(agent=agent), "closed", agent=response["responder"]))
    return {
        "messages": written,
        "with_human": response["then"] == "stay",
        "human_agent": response["responder"],
    }


def after_agent_to_handoff(message: BaseMessage) -> str | None:
    """The routing function's handoff branch: `"handoff"` for a `handoff_to_human` call, else None."""
    return "handoff" if calls_handoff(message) else None


__all__ = [
    "END",
    "TOOL_NAME",
    "after_agent_to_handoff",
    "handoff",
    "handoff_call",
    "handoff_reason",
    "handoff_request",
    "handoff_to_human",
    "human",
    "is_handoff_request",
    "read_response",
    "route_start",
]
