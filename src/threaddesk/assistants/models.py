"""An assistant and one of its versions, as LangGraph's server shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from threaddesk.graphs.registry import system_assistant_id

__all__ = ["Assistant", "AssistantVersion", "system_assistant_id"]

# When a graph's own assistant was "created": a fixed instant, so it reads the same on every replica.
SYSTEM_CREATED_AT = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class AssistantVersion:
    """One saved configuration of an assistant; each update adds one, numbered from 1."""

    assistant_id: str
    version: int
    graph_id: str
    name: str
    description: str | None
    config: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = SYSTEM_CREATED_AT

    def to_dict(self) -> dict[str, Any]:
        return {
            "assistant_id": self.assistant_id,
            "version": self.version,
            "graph_id": self.graph_id,
            "config": self.config,
            "context": self.context,
            "metadata": self.metadata,
            "created_at": self.created_at.isoformat(),
            "name": self.name,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class Assistant:
    """An assistant as it stands: the fields of its active (`latest`) version, and when it last changed."""

    assistant_id: str
    graph_id: str
    name: str
    description: str | None
    config: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    version: int = 1
    created_at: datetime = SYSTEM_CREATED_AT
    updated_at: datetime = SYSTEM_CREATED_AT

    @property
    def is_system(self) -> bool:
        """A graph's own assistant (not stored; cannot be changed or deleted)."""
        return (
            self.assistant_id == system_assistant_id(self.graph_id)
            and self.metadata.get("created_by") == "system"
        )

    def as_version(self) -> AssistantVersion:
        return AssistantVersion(
            self.assistant_id,
            self.version,
            self.graph_id,
            self.name,
            self.description,
            self.config,
            self.context,
            self.metadata,
            self.updated_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "assistant_id": self.assistant_id,
            "graph_id": self.graph_id,
            "name": self.name,
            "description": self.description,
            "config": self.config,
            "context": self.context,
            "metadata": self.metadata,
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }
