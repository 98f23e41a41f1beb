"""The demo shop's orders and the agent's tickets, in the same SQLite file as the threads."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from threaddesk.agent.orders import Opened, Order, OrderBook, Ticket, TicketRequest
from threaddesk.storage.sqlite.database import SqliteDatabase

_ORDER_COLUMNS = "order_id, customer, item, status, placed_on, carrier, tracking, arrives_on"
_TICKET_COLUMNS = "ticket_id, customer, thread_id, order_id, reason, details, status, created_at"


def _ticket(row: tuple) -> Ticket:
    ticket_id, customer, thread_id, order_id, reason, details, status, created_at = row
    at = datetime.fromtimestamp(created_at, UTC)
    return Ticket(ticket_id, customer, thread_id, order_id, reason, details, status, at)


class SqliteOrderBook(OrderBook):
    """Schema from `storage.sqlite.migrations` (009_tools). Two unique indexes (thread and call;
    customer, order and reason while open) make `open_ticket` write at most one ticket for both,
    whichever process sharing the file gets there first: a refused insert reads the winner's."""

    def __init__(self, database: SqliteDatabase) -> None:
        self.db = database

    async def customer_of(self, thread_id: str) -> str | None:
        def run(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT user_id FROM threaddesk_threads WHERE thread_id = ?", (thread_id,)
            ).fetchone()
            return row[0] if row else None

        return await self.db.run(run)

    async def order(self, customer: str, order_id: int) -> Order | None:
        def run(conn: sqlite3.Connection) -> Order | None:
            row = conn.execute(
                f"SELECT {_ORDER_COLUMNS} FROM threaddesk_orders WHERE order_id = ? AND customer = ?",
                (order_id, customer),
            ).fetchone()
            return Order(*row) if row else None

        return await self.db.run(run)

    async def open_ticket(self, request: TicketRequest) -> tuple[Ticket, Opened]:
        def run(conn: sqlite3.Connection) -> tuple[Ticket, Opened]:
            same_call = (
                f"SELECT {_TICKET_COLUMNS} FROM threaddesk_tickets WHERE thread_id = ? AND call_id = ?",
                (request.thread_id, request.call_id),
            )
            row = conn.execute(*same_call).fetchone()
            if row:
                return _ticket(row), Opened.REPLAYED
            cur = conn.execute(
                "INSERT INTO threaddesk_tickets"
                " (customer, thread_id, call_id, order_id, reason, details, status, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'open', ?) ON CONFLICT DO NOTHING",
                (
                    request.customer,
                    request.thread_id,
                    request.call_id,
                    request.order_id,
                    request.reason,
                    request.details,
                    request.created_at.timestamp(),
                ),
            )
            if cur.rowcount == 1:
                return _ticket(conn.execute(*same_call).fetchone()), Opened.NEW
            row = conn.execute(*same_call).fetchone()  # the same call, just now in another process
            if row:
                return _ticket(row), Opened.REPLAYED
            row = conn.execute(
                f"SELECT {_TICKET_COLUMNS} FROM threaddesk_tickets"
                " WHERE customer = ? AND order_id = ? AND reason = ? AND status = 'open'",
                (request.customer, request.order_id, request.reason),
            ).fetchone()
            return _ticket(row), Opened.ALREADY_OPEN

        return await self.db.run(run)

    async def tickets(self, customer: str) -> list[Ticket]:
        def run(conn: sqlite3.Connection) -> list[Ticket]:
            rows = conn.execute(
                f"SELECT {_TICKET_COLUMNS} FROM threaddesk_tickets WHERE customer = ? ORDER BY ticket_id",
                (customer,),
            ).fetchall()
            return [_ticket(row) for row in rows]

        return await self.db.run(run)

    async def put_orders(self, orders: list[Order]) -> int:
        def run(conn: sqlite3.Connection) -> int:
            conn.executemany(
                f"INSERT OR REPLACE INTO threaddesk_orders ({_ORDER_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        o.order_id,
                        o.customer,
                        o.item,
                        o.status,
                        o.placed_on,
                        o.carrier,
                        o.tracking,
                        o.arrives_on,
                    )
                    for o in orders
                ],
            )
            return len(orders)

        return await self.db.run(run)
