"""What assistants need of storage: the assistants and every version of each (SQLite, PostgreSQL)."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from datetime import datetime

from threaddesk.assistants.models import Assistant, AssistantVersion


class AssistantStore(ABC):
    """Stored assistants (not the graphs' own), each with its versions; one is the active one."""

    @abstractmethod
    async def create(self, assistant: Assistant) -> bool:
        """Store `assistant` as its version 1 (also active); False, storing nothing, if its id is taken."""

    @abstractmethod
    async def get(self, assistant_id: str) -> Assistant | None:
        """The assistant as it stands (its active version), or None."""

    @abstractmethod
    async def list(self) -> builtins.list[Assistant]:
        """Every stored assistant (they are configuration: a handful to hundreds)."""

    @abstractmethod
    async def add_version(self, assistant: Assistant, at: datetime) -> Assistant | None:
        """Add a version with `assistant`'s fields, numbered after the highest so far (in the same
        statement, so two updates never take one number), and make it the active one; the assistant
        as it then stands, or None if it is gone."""

    @abstractmethod
    async def set_latest(self, assistant_id: str, version: int, at: datetime) -> Assistant | None:
        """Make `version` the active one; None if the assistant or that version does not exist."""

    @abstractmethod
    async def versions(self, assistant_id: str) -> builtins.list[AssistantVersion]:
        """The assistant's versions, newest first (empty if there is no such assistant)."""

    @abstractmethod
    async def delete(self, assistant_id: str) -> bool:
        """Remove the assistant and its versions; False if there was none."""
