"""Pair Exercise 02: Multi-Thread Support, solved on top of the threaddesk package.

Run from this folder:  python pair_exercise_02_starter.py
The four exercise functions live in `threaddesk.demo` so that `threaddesk demo`
runs exactly the same code; read them there. The library calls the isolation
check `check_thread_isolation` (a `test_` name would be collected by pytest);
the exercise's name for it is bound here.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import threaddesk  # noqa: F401
except ImportError:  # a source checkout that was not pip-installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "src"))

from threaddesk.demo import check_thread_isolation as test_thread_isolation  # noqa: E402
from threaddesk.demo import (  # noqa: E402
    create_thread_manager,
    demonstrate_thread_switching,
    main,
    run_parallel_conversations,
)

__all__ = [
    "create_thread_manager",
    "demonstrate_thread_switching",
    "run_parallel_conversations",
    "test_thread_isolation",
]

if __name__ == "__main__":
    sys.exit(main())
