"""`python -m threaddesk.cli`: the same as the `threaddesk` command."""

from threaddesk.cli.app import main

main()
