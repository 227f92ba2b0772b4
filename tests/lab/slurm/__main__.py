"""``python -m tests.lab.slurm start|stop|status``."""

from __future__ import annotations

import argparse
import subprocess
import sys

from . import lab
from .procs import LabError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.slurm", description="the lab's real Slurm cluster")
    parser.add_argument("command", choices=["start", "stop", "status"])
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            running = lab.start()
            print(
                f"slurm lab up: SLURM_CONF={running.conf_path}  slurmrestd {running.rest_url} "
                f"(JWT in {running.directory / 'lab.json'})"
            )
        elif args.command == "stop":
            print("slurm lab stopped" if lab.stop() else "slurm lab was not running")
        else:
            running = lab.status()
            if running is None:
                print("slurm lab not running")
                return 3
            print(f"slurm lab running: SLURM_CONF={running.conf_path}")
            print(running.run("sinfo", check=False).stdout, end="")
    except (LabError, OSError, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
