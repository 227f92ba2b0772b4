"""``python -m tests.lab.sshnodes start|stop|status``."""

from __future__ import annotations

import argparse
import subprocess
import sys

from tests.lab.slurm.procs import LabError

from . import lab


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab.sshnodes", description="the lab's SSH nodes")
    parser.add_argument("command", choices=["start", "stop", "status"])
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            nodes = lab.start()
            print(
                f"ssh lab up: {len(nodes.nodes)} nodes; ssh -i {nodes.client_key} "
                f"-o UserKnownHostsFile={nodes.known_hosts} root@{next(iter(nodes.addresses.values()))}"
            )
        elif args.command == "stop":
            print("ssh lab stopped" if lab.stop() else "ssh lab was not running")
        else:
            nodes = lab.status()
            if nodes is None:
                print("ssh lab not running")
                return 3
            for name, address in nodes.addresses.items():
                print(f"{name} {address} sshd pid {nodes.sshd_pid(name)}")
    except (LabError, OSError, subprocess.SubprocessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
