"""``python -m tests.lab.kubeapi start|stop|status|serve``.

``start`` launches the server in the background (idempotent) and prints the kubeconfig path;
``serve`` is what ``start`` runs: the server in the foreground, seeded with the default world.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import ssl
import sys
from pathlib import Path

from aiohttp import web

from . import lab
from .scenario import default_world
from .server import KubeApiServer


async def serve(directory: Path) -> None:
    token = (directory / "token").read_text().strip()
    server = KubeApiServer(token)
    runner = web.AppRunner(server.app(), access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(directory / "server.crt", directory / "server.key")
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # aiohttp exposes no public accessor for port 0
    server.cluster.reset(default_world())
    (directory / "pid").write_text(str(os.getpid()))
    tmp = directory / "port.tmp"
    tmp.write_text(str(port))
    tmp.rename(directory / "port")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.kubeapi", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status", "serve"])
    parser.add_argument("--dir", type=Path, help="(serve) state directory written by start")
    args = parser.parse_args(argv)
    if args.command == "serve":
        if args.dir is None:
            parser.error("serve needs --dir")
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
        asyncio.run(serve(args.dir))
        return 0
    try:
        if args.command == "start":
            info = lab.start()
            print(f"kubeapi running at {info.url} (pid {info.pid}); kubeconfig: {info.kubeconfig}")
        elif args.command == "stop":
            print("kubeapi stopped" if lab.stop() else "kubeapi was not running")
        else:
            info = lab.status()
            print(
                f"kubeapi running at {info.url} (pid {info.pid}); kubeconfig: {info.kubeconfig}"
                if info
                else "kubeapi not running"
            )
            return 0 if info else 3
    except lab.LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
