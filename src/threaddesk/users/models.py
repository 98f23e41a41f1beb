"""Value types of the user store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """What a user may do. A `customer` talks on their own threads; an `agent` (a person of the
    support team) also reads every thread and answers those handed over to a human; an `admin`
    may do everything, on every thread."""

    CUSTOMER = "customer"
    AGENT = "agent"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class User:
    """Someone who may call the service. Their `name` is the `user_id` owning their threads.

    `is_admin` is kept beside `role` (older callers and the `--admin` switch use it): a
    user built with `is_admin=True` and no role is an admin, and an admin's `is_admin` is True.
    """

    name: str
    is_admin: bool
    created_at: datetime
    role: Role | None = None

    def __post_init__(self) -> None:
        role = Role(self.role) if self.role is not None else None
        if role is None:
            role = Role.ADMIN if self.is_admin else Role.CUSTOMER
        object.__setattr__(self, "role", role)
        object.__setattr__(self, "is_admin", role is Role.ADMIN)

    @property
    def is_agent(self) -> bool:
        """May answer handed-over threads and read every thread (agents and admins)."""
        return self.role in (Role.AGENT, Role.ADMIN)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "is_admin": self.is_admin,
            "role": str(self.role),
            "created_at": self.created_at.isoformat(),
        }
