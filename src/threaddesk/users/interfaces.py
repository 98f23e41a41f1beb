"""The user store interface: one row per user, keyed by name, findable by token hash."""

from __future__ import annotations

from abc import ABC, abstractmethod

from threaddesk.users.models import User


class UserStore(ABC):
    """Rows of (user, token hash). Methods are async, like the thread registry's."""

    @abstractmethod
    async def insert(self, user: User, token_hash: str) -> bool:
        """Add `user` with its token hash; False (and nothing written) if the name is taken."""

    @abstractmethod
    async def get(self, name: str) -> User | None:
        """The user called `name`, or None."""

    @abstractmethod
    async def find_by_token_hash(self, token_hash: str) -> tuple[User, str] | None:
        """The user holding this token hash, with the stored hash (for a constant-time check)."""

    @abstractmethod
    async def list(self) -> list[User]:
        """Every user, by name."""

    @abstractmethod
    async def delete(self, name: str) -> bool:
        """Remove the user and their token; True if there was one."""

    @abstractmethod
    async def count(self) -> int:
        """How many users exist."""
