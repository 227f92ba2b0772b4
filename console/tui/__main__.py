"""``python -m dcops.console.tui [--theme T] [--nodes N] [--as PRINCIPAL]``: the console on the demo
cluster, without the CLI (for development and for the benchmark's real-terminal runs).

It only ever runs the built-in demo cluster, so ``--as`` is accepted here as with ``dcops --demo``;
without it the principal is the real uid of the process (never ``$LOGNAME``/``$USER``)."""

from __future__ import annotations

import argparse
import re
import sys

from dcops.actions import local_principal
from dcops.actions.config import demo_config

from .app import run_tui


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dcops.console.tui", description=__doc__)
    parser.add_argument("--theme")
    parser.add_argument("--nodes", type=int, default=64, help="demo cluster size")
    parser.add_argument("--as", dest="principal", help="act as PRINCIPAL on the demo cluster")
    parser.add_argument("--production", action="store_true", help="show the demo as a production cluster")
    args = parser.parse_args(argv)
    if args.principal is not None and not re.fullmatch(r"(unix|slack):[^\s:]+", args.principal):
        parser.error(f"--as {args.principal!r}: give a principal such as unix:alice or slack:U0123ABC")
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        sys.stderr.write("python -m dcops.console.tui: needs a terminal (stdin and stdout are not one)\n")
        return 1
    config = demo_config()
    config = config.model_copy(
        update={"cluster": config.cluster.model_copy(update={"demo_nodes": args.nodes, "production": args.production})}
    )
    return run_tui(config, principal=args.principal or local_principal(config.identity), theme=args.theme)


if __name__ == "__main__":
    sys.exit(main())
