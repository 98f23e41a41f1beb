"""Runs: one whole turn of the agent on one thread, as LangGraph's server names and shapes it."""

from threaddesk.runs.request import STREAM_MODES, RunRequest, new_run_id
from threaddesk.runs.result import RunChunk, RunResult

__all__ = ["STREAM_MODES", "RunChunk", "RunRequest", "RunResult", "new_run_id"]
