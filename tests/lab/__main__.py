"""Start, stop or show every lab service: ``python -m tests.lab start|stop|status``.

Each service has its own module (``python -m tests.lab.slurm start`` ...); this runs them in a
dependency-safe order (stop in reverse) so `make clean-lab` leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys

SERVICES = ["postgres", "kubeapi", "bmc", "metrics", "alertmanager", "sshnodes", "slurm"]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("start", "stop", "status"):
        sys.stderr.write("usage: python -m tests.lab start|stop|status\n")
        return 2
    verb = argv[0]
    order = SERVICES if verb != "stop" else list(reversed(SERVICES))
    rc = 0
    for name in order:
        p = subprocess.run([sys.executable, "-m", f"tests.lab.{name}", verb], text=True, capture_output=True)
        out = (p.stdout + p.stderr).strip().splitlines()
        print(f"{name:<12} {'ok' if p.returncode == 0 else f'exit {p.returncode}'}  {out[-1] if out else ''}")
        rc = rc or p.returncode
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
