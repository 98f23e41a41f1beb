"""Optional OpenTelemetry tracing: one span per turn, off unless asked for.

Only the OpenTelemetry API is used (the `tracing` extra), as a library should:
where the spans go is the SDK's business, configured by whoever runs the
process. With tracing off nothing is imported and nothing leaves the process.
"""

from __future__ import annotations

from typing import Any

from threaddesk.errors import InvalidArgument
from threaddesk.metrics import Outcome

SPAN_NAME = "threaddesk.turn"


def turn_tracer(enabled: bool) -> Any | None:
    """An OpenTelemetry tracer if `enabled`, else None; a clear error if the API is missing."""
    if not enabled:
        return None
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise InvalidArgument(
            "tracing needs the OpenTelemetry API: pip install 'threaddesk[tracing]'"
        ) from exc
    return trace.get_tracer("threaddesk")


class TurnSpan:
    """The span of one turn (a no-op without a tracer)."""

    def __init__(self, tracer: Any | None, thread_id: str, backend: str) -> None:
        self._span = None
        if tracer is not None:
            attributes = {"threaddesk.thread_id": thread_id, "threaddesk.backend": backend}
            self._span = tracer.start_span(SPAN_NAME, attributes=attributes)

    def end(self, outcome: Outcome, exc: BaseException | None = None) -> None:
        if self._span is None:
            return
        from opentelemetry.trace import Status, StatusCode

        self._span.set_attribute("threaddesk.outcome", outcome.value)
        if outcome not in (Outcome.OK, Outcome.ABANDONED, Outcome.REFUSED):
            if exc is not None:
                self._span.record_exception(exc)
            self._span.set_status(Status(StatusCode.ERROR, outcome.value))
        self._span.end()
