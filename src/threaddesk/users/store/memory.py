"""Users in a dict: for `memory` storage and tests; gone with the process."""

from __future__ import annotations

from threaddesk.users.models import User
from threaddesk.users.store.base import UserStore


class MemoryUserStore(UserStore):
    def __init__(self) -> None:
        self._users: dict[str, tuple[User, str]] = {}

    async def insert(self, user: User, token_hash: str) -> bool:
        if user.name in self._users:
            return False
        self._users[user.name] = (user, token_hash)
        return True

    async def get(self, name: str) -> User | None:
        row = self._users.get(name)
        return row[0] if row else None

    async def find_by_token_hash(self, token_hash: str) -> tuple[User, str] | None:
        return next((row for row in self._users.values() if row[1] == token_hash), None)

    async def list(self) -> list[User]:
        return [self._users[name][0] for name in sorted(self._users)]

    async def delete(self, name: str) -> bool:
        return self._users.pop(name, None) is not None

    async def count(self) -> int:
        return len(self._users)
