"""The demo shop's orders and the agent's tickets in PostgreSQL, shared by every replica."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from threaddesk.agent.orders import Opened, Order, OrderBook, Ticket, TicketRequest
from threaddesk.storage.postgres.database import PostgresDatabase

_ORDER_COLUMNS = "order_id, customer, item, status, placed_on, carrier, tracking, arrives_on"
_TICKET_COLUMNS = "ticket_id, customer, thread_id, order_id, reason, details, status, created_at"
_SAME_CALL = f"SELECT {_TICKET_COLUMNS} FROM threaddesk_tickets WHERE thread_id = %s AND call_id = %s"


def _ticket(row: dict[str, Any]) -> Ticket:
    return Ticket(**{**row, "created_at": row["created_at"].astimezone(UTC)})


class PostgresOrderBook(OrderBook):
    """Schema from `storage.postgres.migrations` (009_tools). Two unique indexes (thread and call;
    customer, order and reason while open) make `open_ticket` write at most one ticket for both,
    whichever replica gets there first: a refused insert (`ON CONFLICT DO NOTHING`) reads the winner's."""

    def __init__(self, database: PostgresDatabase) -> None:
        self.db = database

    async def _fetch(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        async with self.db.connection() as conn:
            return await (await conn.execute(sql, params)).fetchall()

    async def customer_of(self, thread_id: str) -> str | None:
        rows = await self._fetch("SELECT user_id FROM threaddesk_threads WHERE thread_id = %s", (thread_id,))
        return rows[0]["user_id"] if rows else None

    async def order(self, customer: str, order_id: int) -> Order | None:
        rows = await self._fetch(
            f"SELECT {_ORDER_COLUMNS} FROM threaddesk_orders WHERE order_id = %s AND customer = %s",
            (order_id, customer),
        )
        return Order(**rows[0]) if rows else None

    async def open_ticket(self, request: TicketRequest) -> tuple[Ticket, Opened]:
        call = (request.thread_id, request.call_id)
        rows = await self._fetch(_SAME_CALL, call)
        if rows:
            return _ticket(rows[0]), Opened.REPLAYED
        rows = await self._fetch(
            "INSERT INTO threaddesk_tickets"
            " (customer, thread_id, call_id, order_id, reason, details, status, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, 'open', %s)"
            f" ON CONFLICT DO NOTHING RETURNING {_TICKET_COLUMNS}",
            (
                request.customer,
                request.thread_id,
                request.call_id,
                request.order_id,
                request.reason,
                request.details,
                request.created_at,
            ),
        )
        if rows:
            return _ticket(rows[0]), Opened.NEW
        rows = await self._fetch(_SAME_CALL, call)  # the same call, just now on another replica
        if rows:
            return _ticket(rows[0]), Opened.REPLAYED
        rows = await self._fetch(
            f"SELECT {_TICKET_COLUMNS} FROM threaddesk_tickets"
            " WHERE customer = %s AND order_id = %s AND reason = %s AND status = 'open'",
            (request.customer, request.order_id, request.reason),
        )
        return _ticket(rows[0]), Opened.ALREADY_OPEN

    async def tickets(self, customer: str) -> list[Ticket]:
        rows = await self._fetch(
            f"SELECT {_TICKET_COLUMNS} FROM threaddesk_tickets WHERE customer = %s ORDER BY ticket_id",
            (customer,),
        )
        return [_ticket(row) for row in rows]

    async def put_orders(self, orders: list[Order]) -> int:
        async with self.db.connection() as conn, conn.transaction():
            for o in orders:
                await conn.execute(
                    f"INSERT INTO threaddesk_orders ({_ORDER_COLUMNS})"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (order_id) DO UPDATE SET"
                    " customer = excluded.customer, item = excluded.item, status = excluded.status,"
                    " placed_on = excluded.placed_on, carrier = excluded.carrier,"
                    " tracking = excluded.tracking, arrives_on = excluded.arrives_on",
                    (
                        o.order_id,
                        o.customer,
                        o.item,
                        o.status,
                        o.placed_on,
                        o.carrier,
                        o.tracking,
                        o.arrives_on,
                    ),
                )
        return len(orders)
