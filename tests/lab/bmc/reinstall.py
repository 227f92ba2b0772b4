"""What a PXE boot does to a lab node: the lab BMC runs this when a node boots with its one-time
PXE override. The node's SSH goes away (the OS is being reinstalled), and after ``delay`` seconds it
comes back reporting the provisioned image id in /etc/dcops-image (tests/lab/sshnodes).

``python -m tests.lab.bmc.reinstall NODE IMAGE_ID DELAY`` (the BMC lab's ``--reinstall-hook``).
"""

from __future__ import annotations

import sys
import time

HOOK = [sys.executable, "-m", "tests.lab.bmc.reinstall", "{node}", "{image_id}", "{delay}"]


def reinstall(node: str, image_id: str, delay: float) -> None:
    import json

    from tests.lab import sshnodes

    # not sshnodes.status(): it reports "not running" while another node's reinstall has its sshd down
    info = json.loads((sshnodes.lab_dir() / "lab.json").read_text())
    lab = sshnodes.SshNodesLab(directory=sshnodes.lab_dir(), addresses=info["addresses"])
    if node not in lab.nodes:
        raise SystemExit(f"no SSH lab node {node}")
    lab.stop_sshd(node)
    time.sleep(delay)
    lab.image_file(node).write_text(image_id + "\n")
    lab.start_sshd(node)
    lab.wait_ready([node])


if __name__ == "__main__":
    reinstall(sys.argv[1], sys.argv[2], float(sys.argv[3]))
