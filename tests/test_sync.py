"""ThreadDesk, the blocking twin: same signatures as SupportDesk, and it never keeps a process alive."""

from __future__ import annotations

import inspect
import subprocess
import sys

from threaddesk import SupportDesk, ThreadDesk, ThreadManager
from threaddesk.sync import SyncThreadManager


def test_a_desk_never_closed_still_lets_the_script_exit() -> None:
    script = (
        "from threaddesk import ThreadDesk\n"
        "desk = ThreadDesk.open(database_url='memory')\n"
        "print(desk.send('t1', \"Hi, I'm Al.\", user_id='u', create=True).text)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout) == (0, "Hello Al! How can I help?\n"), run.stderr


def test_blocking_methods_keep_the_async_signatures() -> None:
    for twin, original, names in (
        (ThreadDesk, SupportDesk, ["send", "history"]),
        (SyncThreadManager, ThreadManager, ["create", "get", "list", "update", "delete", "cleanup"]),
    ):
        for name in names:
            blocking, coroutine = getattr(twin, name), getattr(original, name)
            assert inspect.signature(blocking) == inspect.signature(coroutine), name
            assert blocking.__doc__ == coroutine.__doc__
