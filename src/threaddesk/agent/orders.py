"""The support tools' data: customers' orders and the tickets the agent opens on them.

A small demo shop, stored in the same database as the threads (`threaddesk_orders`,
`threaddesk_tickets`; see `storage/*/orders.py`), so the built-in agent has something
real to look up. Every read and write is scoped to one customer: the owner of the
thread the tool runs on (`customer_of(thread_id)`, read from the thread registry, never
from the model's output). Another customer's order reads exactly like a missing one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum

# Why a ticket is opened. The offline model picks one from the customer's words; a real LLM from
# the tool's schema, which lists these.
TICKET_REASONS = ("refund", "return", "cancellation", "replacement", "other")
MAX_DETAILS = 500  # characters of the customer's words kept on a ticket


@dataclass(frozen=True, slots=True)
class Order:
    """One order of the demo shop: what was bought, by whom, and where it is."""

    order_id: int
    customer: str
    item: str
    status: str  # processing, shipped, delivered or cancelled
    placed_on: str  # ISO date
    carrier: str | None = None
    tracking: str | None = None
    # The expected delivery date while on its way; the delivery date once delivered.
    arrives_on: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The order as a tool result: what the customer may be told (their own order only)."""
        out: dict[str, object] = {
            "order_id": self.order_id,
            "item": self.item,
            "status": self.status,
            "placed_on": self.placed_on,
        }
        for key in ("carrier", "tracking", "arrives_on"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class TicketRequest:
    """What `open_ticket` asks for; `thread_id` and `call_id` make the call idempotent."""

    customer: str
    thread_id: str
    call_id: str
    order_id: int
    reason: str
    details: str = ""
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class Opened(Enum):
    """How a ticket came back from `OrderBook.open_ticket`."""

    NEW = "new"  # written by this call
    REPLAYED = "replayed"  # written by an earlier run of the very same tool call (a retried turn)
    ALREADY_OPEN = "already open"  # the customer already has an open ticket of this reason on the order


@dataclass(frozen=True, slots=True)
class Ticket:
    ticket_id: int
    customer: str
    thread_id: str
    order_id: int
    reason: str
    details: str
    status: str
    created_at: datetime

    def to_dict(self) -> dict[str, object]:
        return {
            "ticket_id": self.ticket_id,
            "order_id": self.order_id,
            "reason": self.reason,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
        }


class OrderBook(ABC):
    """The orders and tickets tables. Async, like the thread registry; every call names its customer."""

    @abstractmethod
    async def customer_of(self, thread_id: str) -> str | None:
        """Whom the tools act for on this thread: its owner (None for a thread not in the registry)."""

    @abstractmethod
    async def order(self, customer: str, order_id: int) -> Order | None:
        """The order if it is `customer`'s; None if missing or someone else's (the same answer)."""

    @abstractmethod
    async def open_ticket(self, request: TicketRequest) -> tuple[Ticket, Opened]:
        """Open a ticket, at most once per (thread, tool call) and per open (customer, order, reason).

        Atomic across processes: two runs of the same call, or two calls asking for the same
        thing at once, leave one ticket. The order must be the customer's (checked by the caller).
        """

    @abstractmethod
    async def tickets(self, customer: str) -> list[Ticket]:
        """The customer's tickets, oldest first."""

    @abstractmethod
    async def put_orders(self, orders: list[Order]) -> int:
        """Insert or replace these orders (seeding); how many were written."""


class MemoryOrderBook(OrderBook):
    """An `OrderBook` in this process's memory: for a graph served without threaddesk's storage."""

    def __init__(self, orders: list[Order] | None = None, owners: dict[str, str] | None = None) -> None:
        self._orders = {order.order_id: order for order in orders or []}
        self._owners = dict(owners or {})  # thread id → customer
        self._tickets: list[tuple[str, Ticket]] = []  # (call key, ticket)

    async def customer_of(self, thread_id: str) -> str | None:
        return self._owners.get(thread_id)

    async def order(self, customer: str, order_id: int) -> Order | None:
        order = self._orders.get(order_id)
        return order if order is not None and order.customer == customer else None

    async def open_ticket(self, request: TicketRequest) -> tuple[Ticket, Opened]:
        key = f"{request.thread_id}\0{request.call_id}"
        for called, ticket in self._tickets:
            if called == key:
                return ticket, Opened.REPLAYED
        for _, ticket in self._tickets:
            if (ticket.customer, ticket.order_id, ticket.reason, ticket.status) == (
                request.customer,
                request.order_id,
                request.reason,
                "open",
            ):
                return ticket, Opened.ALREADY_OPEN
        ticket = Ticket(
            ticket_id=len(self._tickets) + 1,
            customer=request.customer,
            thread_id=request.thread_id,
            order_id=request.order_id,
            reason=request.reason,
            details=request.details[:MAX_DETAILS],
            status="open",
            created_at=request.created_at,
        )
        self._tickets.append((key, ticket))
        return ticket, Opened.NEW

    async def tickets(self, customer: str) -> list[Ticket]:
        return [ticket for _, ticket in self._tickets if ticket.customer == customer]

    async def put_orders(self, orders: list[Order]) -> int:
        self._orders.update((order.order_id, replace(order)) for order in orders)
        return len(orders)


# The demo shop: the exercise's customers (alice, bob, carol, dave, erin) and an order or two each.
DEMO_ORDERS = [
    Order(
        1042, "carol", "Wireless headphones", "delivered", "2026-11-02", "DHL", "DHL-7781042", "2026-11-06"
    ),
    Order(1043, "alice", "Espresso machine", "shipped", "2026-11-20", "UPS", "1Z-4410-1043", "2026-12-01"),
    Order(1044, "bob", "Running shoes", "processing", "2026-11-26"),
    Order(1045, "dave", "Mechanical keyboard", "shipped", "2026-11-18", "FedEx", "FX-20451045", "2026-11-30"),
    Order(1046, "erin", "Yoga mat", "delivered", "2026-11-10", "DHL", "DHL-7781046", "2026-11-14"),
    Order(1047, "alice", "Paperback: The Pragmatic Programmer", "cancelled", "2026-11-12"),
    Order(2001, "carol", "Phone case", "processing", "2026-11-27"),
]
