"""The benchmarks' latency proxy (tests/bench/latency_proxy.py) shuts down cleanly.

It used to stop its loop and leave the connections still open (PostgreSQL's side of a pooled
connection) to the garbage collector, which printed "Task was destroyed but it is pending" and
"Event loop is closed" tracebacks at the end of every ``store_postgres`` run. Run in a child
process so what the interpreter prints while it collects and exits is seen too."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_CHILD = textwrap.dedent(
    """
    import gc, socket, threading
    from tests.bench.latency_proxy import LatencyProxy

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    held = []  # the echo server never closes its side: the proxy must close the connection itself

    def serve(c):
        for data in iter(lambda: c.recv(100), b""):
            c.sendall(data)

    def accept():
        while True:
            c, _ = srv.accept()
            held.append(c)
            threading.Thread(target=serve, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    for _ in range(3):
        with LatencyProxy(srv.getsockname()[1], 0.0005) as proxy:
            a = socket.create_connection(("127.0.0.1", proxy.port))
            a.sendall(b"ping")
            assert a.recv(10) == b"ping"
            a.sendall(b"again")
            assert a.recv(10) == b"again"
            trips = proxy.round_trips
            open_at_exit = socket.create_connection(("127.0.0.1", proxy.port))
            open_at_exit.sendall(b"x")
            assert open_at_exit.recv(10) == b"x"
        open_at_exit.settimeout(5)
        assert open_at_exit.recv(10) == b"", "the proxy left a connection open after its exit"
        print("trips", trips, flush=True)
        a.close()
        open_at_exit.close()
        del proxy
        gc.collect()
    print("done", flush=True)
    """
)


def test_proxy_exit_closes_open_connections_without_tracebacks() -> None:
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["trips 2", "trips 2", "trips 2", "done"]
    for noise in ("Event loop is closed", "Task was destroyed", "Traceback", "Exception ignored"):
        assert noise not in out.stderr, out.stderr
