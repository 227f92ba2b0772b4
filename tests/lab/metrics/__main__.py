"""``python -m tests.lab.metrics start|stop|status|serve-dcgm``.

``start`` brings up Prometheus, one node_exporter per lab node and the DCGM-format exporter (from
nothing, idempotently) and prints where they are; ``serve-dcgm`` is what ``start`` runs for the
DCGM endpoint, in the foreground.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import lab


def _serve_dcgm(directory: Path, port: int, nodes: int) -> None:
    from aiohttp import web

    from .dcgm import make_app
    from .world import World

    web.run_app(
        make_app(World.build(nodes), directory / "dcgm" / "scenario.json"),
        host="127.0.0.1",
        port=port,
        access_log=None,
        print=None,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.metrics", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status", "serve-dcgm"])
    parser.add_argument("--nodes", type=int, default=64, help="lab nodes (even; default 64)")
    parser.add_argument("--dir", type=Path, help="(serve-dcgm) the lab directory")
    parser.add_argument("--port", type=int, help="(serve-dcgm) port to listen on")
    args = parser.parse_args(argv)
    if args.command == "serve-dcgm":
        if args.dir is None or args.port is None:
            parser.error("serve-dcgm needs --dir and --port")
        _serve_dcgm(args.dir, args.port, args.nodes)
        return 0
    try:
        if args.command == "start":
            info = lab.start(nodes=args.nodes)
            print(
                f"metrics lab: Prometheus {info.prometheus_url}, {len(info.nodes)} node_exporters, "
                f"DCGM exporter {info.dcgm_url}; topology {info.topology_path}"
            )
        elif args.command == "stop":
            print("metrics lab stopped" if lab.stop() else "metrics lab was not running")
        else:
            info = lab.status()
            print(
                f"metrics lab running: Prometheus {info.prometheus_url}, {len(info.nodes)} nodes"
                if info
                else "metrics lab not running"
            )
            return 0 if info else 3
    except lab.LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
