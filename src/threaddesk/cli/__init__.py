"""The `threaddesk` command: a thin typer layer over the library."""

from threaddesk.cli.app import app, main

__all__ = ["app", "main"]
