"""[ansible]: where the approved playbooks live and how ansible-runner runs them.

Only playbooks in ``playbook_dir`` can be run, by name (``nvidia-driver`` for
``nvidia-driver.yml``); a path, a ``..`` or a name outside the directory is refused. The
inventory is dcops' own (``[ssh]`` user, keys, known_hosts and each node's address), never a
file the user points at.
"""

from __future__ import annotations

from pydantic import Field

from ._base import Section


class AnsibleSection(Section):
    playbook_dir: str  # approved playbooks (NAME.yml, optional NAME.meta.yml beside)
    forks: int = Field(16, ge=1, le=256)  # hosts Ansible works on at once
    timeout: float = 1800.0  # seconds for one playbook run (ansible-runner kills it after)
    python_interpreter: str = "auto_silent"  # ansible_python_interpreter on the nodes
    adhoc_modules: list[str] = []  # modules the `ansible` action may run ad hoc (none by default);
    # the policy must also grant ansible:MODULE
