"""A loopback TCP proxy a test can cut and restore, to play a database outage.

It runs its own event loop in a thread, so the code under test (in the test's
loop or in another process) sees an ordinary server at `port`. `cut()` drops
every open connection and turns new ones away (accepted, then closed at once,
as a server that is down or restarting would); `restore()` forwards again.
`round_trips` counts the replies the server started after the client had sent
something (on each connection, each change of direction from client-to-server
to server-to-client), so a test can count the round trips an operation costs.
"""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlsplit, urlunsplit


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._cut = False
        self.round_trips = 0
        self._open: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        self._drop_all()
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def proxied(self, url: str) -> str:
        """`url` with its host and port replaced by this proxy's."""
        parts = urlsplit(url)
        user = f"{parts.username}@" if parts.username else ""
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}"))

    def cut(self) -> None:
        """Drop every connection and refuse new ones until `restore()`."""
        done = threading.Event()

        def cut() -> None:
            self._cut = True
            self._drop_all()
            done.set()

        self._loop.call_soon_threadsafe(cut)
        done.wait(10)

    def restore(self) -> None:
        self._loop.call_soon_threadsafe(setattr, self, "_cut", False)

    def _drop_all(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._cut:
            client_writer.transport.abort()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._open.update((client_writer, server_writer))
        last = ["server"]  # who sent last on this connection
        await asyncio.gather(
            self._pump(client_reader, server_writer, client_writer, last, "client"),
            self._pump(server_reader, client_writer, server_writer, last, "server"),
        )

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        other: asyncio.StreamWriter,
        last: list[str],
        side: str,
    ) -> None:
        try:
            while data := await reader.read(65536):
                if last[0] != side and side == "server":
                    self.round_trips += 1
                last[0] = side
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            for end in (writer, other):
                self._open.discard(end)
                end.transport.abort()
