"""``python -m tests.lab.alertmanager start|stop|status``."""

from __future__ import annotations

import argparse
import sys

from tests.lab.slurm.procs import LabError

from . import lab


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.alertmanager", description="the lab's Alertmanager")
    parser.add_argument("command", choices=["start", "stop", "status"])
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            am = lab.start()
            from tests.lab.metrics import lab as metrics

            fed = (
                "fed by the metrics lab's Prometheus"
                if metrics.status()
                else "(metrics lab not running: start it, then `start` again to feed it)"
            )
            print(f"alertmanager lab: {am.url} {fed}")
        elif args.command == "stop":
            print("alertmanager lab stopped" if lab.stop() else "alertmanager lab was not running")
        else:
            am = lab.status()
            print(f"alertmanager lab running: {am.url}" if am else "alertmanager lab not running")
            return 0 if am else 3
    except (LabError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
