"""Value types of the user store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class User:
    """Someone who may call the service. Their `name` is the `user_id` owning their threads."""

    name: str
    is_admin: bool
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "is_admin": self.is_admin, "created_at": self.created_at.isoformat()}
