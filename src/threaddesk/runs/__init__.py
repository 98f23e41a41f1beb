"""Runs: one whole turn of the agent on one thread, as LangGraph's server names and shapes it."""

from threaddesk.runs.interfaces import RunStore
from threaddesk.runs.models import LEASE, Run, RunRecord, RunStatus
from threaddesk.runs.request import STREAM_MODES, RunRequest, new_run_id
from threaddesk.runs.result import RunChunk, RunResult

__all__ = [
    "LEASE",
    "STREAM_MODES",
    "Run",
    "RunChunk",
    "RunRecord",
    "RunRequest",
    "RunResult",
    "RunStatus",
    "RunStore",
    "new_run_id",
]
