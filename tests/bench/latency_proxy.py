"""A TCP proxy that delays every chunk by a fixed time each way, run in a background thread.

This machine has no ``tc netem``, and a console and its database are rarely on one host: the proxy
stands in for the network between them, so a benchmark can show what round trips cost. Each
direction keeps its own order and delays chunks by their arrival time (not one after the other),
so two messages sent together arrive together, as on a real link.

``round_trips`` counts exchanges, whatever the delay: a client send that follows something the
server sent (or opens the connection) is one more round trip. It is exact where timing is not: on a
loaded machine a timer wakes late and time / delay over-counts.

Leaving the ``with`` block shuts the proxy down on its own thread: the connections still open (a
server side PostgreSQL has not closed yet) are cancelled and their sockets closed, then the loop is
closed. Stopping the loop alone left those tasks and transports to the garbage collector, which
printed "Task was destroyed but it is pending" and "Event loop is closed" tracebacks at exit.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable


class LatencyProxy:
    def __init__(self, target_port: int, one_way_s: float, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.delay = one_way_s
        self.port = 0
        self.round_trips = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)

    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("latency proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.run_until_complete(self._shutdown(server))
            self._loop.close()

    async def _shutdown(self, server: asyncio.Server) -> None:
        """Cancel every connection still piping, let them close their sockets, then the server."""
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()
        await self._loop.shutdown_asyncgens()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except (OSError, asyncio.CancelledError):  # no server, or the proxy shut down meanwhile
            client_w.close()
            return
        turn = ["server"]  # who spoke last on this connection
        writers = (client_w, server_w)

        def client_spoke() -> None:
            if turn[0] == "server":
                self.round_trips += 1
            turn[0] = "client"

        def server_spoke() -> None:
            turn[0] = "server"

        try:
            await asyncio.gather(
                self._pipe(client_r, server_w, client_spoke), self._pipe(server_r, client_w, server_spoke)
            )
        except asyncio.CancelledError:
            pass  # the proxy's own shutdown: asyncio's stream server reports a cancelled handler as an error
        finally:  # also when the proxy shuts down with the connection open: close both sockets now
            for w in writers:
                w.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, spoke: Callable[[], None]
    ) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                arrived, data = await queue.get()
                if not data:
                    writer.close()
                    return
                await asyncio.sleep(max(0.0, arrived + self.delay - time.monotonic()))
                writer.write(data)

        sender = asyncio.create_task(deliver())
        try:
            while data := await reader.read(65536):
                spoke()
                queue.put_nowait((time.monotonic(), data))
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:  # the proxy is shutting down: its sender goes with it
            sender.cancel()
            raise
        queue.put_nowait((time.monotonic(), b""))
        await sender
