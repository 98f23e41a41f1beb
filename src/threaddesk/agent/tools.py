"""The built-in agent's support tools: look up an order, open a ticket on one.

Plain LangChain tools, so any chat model that supports `bind_tools` uses them
(the offline model too, see `agent.actions`), run by LangGraph's `ToolNode`.
The customer a tool acts for is the owner of the thread it runs on, read from
the thread registry (`OrderBook.customer_of`) by the run's `thread_id`, which
the service sets: neither the model's arguments (which name the order only)
nor anything else a client sends can change whose orders are read. A thread the
registry does not know (a graph served elsewhere) gets an error result, no data.

Results are JSON objects (the `ToolMessage`'s content): a model answers from
them; the offline model words them (`actions.answer_from_results`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from langchain_core.messages import ToolCall
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool
from pydantic import BaseModel, Field

from threaddesk.agent.orders import MAX_DETAILS, Opened, OrderBook, TicketRequest

LOOKUP_ORDER = "lookup_order"
OPEN_TICKET = "open_ticket"
_MAX_ORDER_ID = 2**31 - 1  # the column is a 32-bit integer on both backends
Reason = Literal["refund", "return", "cancellation", "replacement", "other"]


class LookupOrderArgs(BaseModel):
    order_id: int = Field(description="The order number the customer gave, e.g. 1042 for '#1042'.")


class OpenTicketArgs(BaseModel):
    order_id: int = Field(description="The order number the ticket is about.")
    reason: Reason = Field(description="What the customer asks for.")
    details: str = Field(default="", description="The customer's request in their own words.")
    tool_call_id: Annotated[str, InjectedToolCallId]


_NO_CUSTOMER = {"error": "no customer: this conversation is not tied to a customer account"}


def _storable(text: str) -> str:
    """A model's words as both backends store them: no NUL, no lone surrogate, at most `MAX_DETAILS`."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:MAX_DETAILS]


def describe_call(call: ToolCall) -> str:
    """A tool call as people read it: `lookup_order(order_id=1042)`."""
    args = ", ".join(f"{key}={value!r}" for key, value in call["args"].items())
    return f"{call['name']}({args})"


def support_tools(book: OrderBook) -> list[BaseTool]:
    """`lookup_order` and `open_ticket` over `book`, for `build_agent(tools=...)`."""

    async def customer(config: RunnableConfig) -> tuple[str | None, str | None]:
        """The run's thread and its owner (None, None if the run names no thread)."""
        thread_id = (config.get("configurable") or {}).get("thread_id")
        if not isinstance(thread_id, str):
            return None, None
        return thread_id, await book.customer_of(thread_id)

    async def lookup_order(order_id: int, config: RunnableConfig) -> dict[str, Any]:
        _, owner = await customer(config)
        if owner is None:
            return _NO_CUSTOMER
        order = await book.order(owner, order_id) if 0 < order_id <= _MAX_ORDER_ID else None
        if order is None:
            return {"found": False, "order_id": order_id}
        return {"found": True, "order": order.to_dict()}

    async def open_ticket(
        order_id: int, reason: Reason, tool_call_id: str, config: RunnableConfig, details: str = ""
    ) -> dict[str, Any]:
        thread_id, owner = await customer(config)
        if thread_id is None or owner is None:
            return _NO_CUSTOMER
        order = await book.order(owner, order_id) if 0 < order_id <= _MAX_ORDER_ID else None
        if order is None:
            return {"opened": False, "found": False, "order_id": order_id}
        request = TicketRequest(owner, thread_id, tool_call_id, order_id, reason, _storable(details))
        ticket, how = await book.open_ticket(request)
        # A replayed call answers as it did the first time: the ticket is the one it opened.
        return {
            "opened": how is not Opened.ALREADY_OPEN,
            "already_open": how is Opened.ALREADY_OPEN,
            "ticket": ticket.to_dict(),
            "order": order.to_dict(),
        }

    return [
        StructuredTool.from_function(
            coroutine=lookup_order,
            name=LOOKUP_ORDER,
            description=(
                "Look up one of the customer's orders by its number: the item, its status "
                "(processing, shipped, delivered, cancelled), carrier, tracking number and delivery date."
            ),
            args_schema=LookupOrderArgs,
        ),
        StructuredTool.from_function(
            coroutine=open_ticket,
            name=OPEN_TICKET,
            description=(
                "Open a support ticket on one of the customer's orders when they ask for a refund, "
                "a return, a cancellation or a replacement. Opening the same request twice returns the "
                "ticket already open."
            ),
            args_schema=OpenTicketArgs,
        ),
    ]
