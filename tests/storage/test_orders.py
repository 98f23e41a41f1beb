"""The order book on each backend (and in memory): scoped to a customer, tickets opened at most once,
also when two openers of the same database ask at the same moment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from threaddesk.agent.orders import DEMO_ORDERS, MemoryOrderBook, Opened, Order, OrderBook, TicketRequest
from threaddesk.storage import open_storage


@pytest.fixture(params=["storage", "memory"])
async def book(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[OrderBook]:
    if request.param == "memory":
        if "postgres" in database_url:
            pytest.skip("the memory book once is enough")
        yield MemoryOrderBook()
        return
    storage = await open_storage(database_url, pool_size=2, turn_pool_size=1)
    try:
        assert storage.orders is not None
        yield storage.orders
    finally:
        await storage.aclose()


def _ask(call: str, *, thread: str = "t1", reason: str = "refund", customer: str = "carol") -> TicketRequest:
    return TicketRequest(customer, thread, call, 1042, reason, "I want a refund for order 1042")


async def test_orders_are_seen_by_their_customer_only(book: OrderBook) -> None:
    assert await book.put_orders(DEMO_ORDERS) == len(DEMO_ORDERS)
    assert await book.order("carol", 1042) == DEMO_ORDERS[0]
    assert await book.order("bob", 1042) is None  # someone else's: as missing
    assert await book.order("carol", 999_999) is None
    moved = Order(1042, "carol", "Wireless headphones", "shipped", "2026-11-02", "DHL", None, None)
    await book.put_orders([moved])  # seeding again replaces
    assert await book.order("carol", 1042) == moved


async def test_a_ticket_is_opened_once_per_call_and_once_while_open(book: OrderBook) -> None:
    await book.put_orders(DEMO_ORDERS)
    first, how = await book.open_ticket(_ask("c1"))
    assert how is Opened.NEW and (first.customer, first.order_id, first.status) == ("carol", 1042, "open")
    again, how = await book.open_ticket(_ask("c1"))
    assert how is Opened.REPLAYED and again == first  # the same call: the same ticket, same fields
    other, how = await book.open_ticket(_ask("c2", thread="t2"))
    assert how is Opened.ALREADY_OPEN and other == first
    returned, how = await book.open_ticket(_ask("c3", reason="return"))
    assert how is Opened.NEW and returned.ticket_id != first.ticket_id
    assert [t.reason for t in await book.tickets("carol")] == ["refund", "return"]
    assert await book.tickets("bob") == []


async def test_two_openers_of_one_database_asking_at_once_leave_one_ticket(database_url: str) -> None:
    """Like two replicas: separate storage objects (connections, pools) on the same database."""
    stores = [await open_storage(database_url, pool_size=2, turn_pool_size=1) for _ in range(2)]
    try:
        books = [s.orders for s in stores]
        assert books[0] is not None and books[1] is not None
        await books[0].put_orders(DEMO_ORDERS)
        same_call = await asyncio.gather(*(b.open_ticket(_ask("same")) for b in books * 3))  # type: ignore[union-attr]
        assert len({t.ticket_id for t, _ in same_call}) == 1
        assert sum(how is Opened.NEW for _, how in same_call) == 1
        calls = await asyncio.gather(
            *(
                b.open_ticket(_ask(f"c{i}", thread=f"t{i}", reason="replacement"))
                for i, b in enumerate(books * 3)
            )  # type: ignore[union-attr]
        )
        assert sum(how is Opened.NEW for _, how in calls) == 1
        assert len(await books[1].tickets("carol")) == 2  # type: ignore[union-attr]
    finally:
        for storage in stores:
            await storage.aclose()
