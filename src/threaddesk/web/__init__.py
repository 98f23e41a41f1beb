"""The HTTP service: native threads API, LangGraph-compatible routes and the chat page."""

from threaddesk.web.app import create_app

__all__ = ["create_app"]
