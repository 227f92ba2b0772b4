"""``import dcops`` in a real notebook: nbclient executes ``dcops_api.ipynb`` on a real ipykernel,
once against the demo cluster and once against the Slurm lab (real slurmctld + slurmd, and the SSH
lab for a playbook run by ansible-runner), both with a policy file that lets this process's user
read, drain, resume and run check-* playbooks but not power-cycle. The outputs
are checked: HTML tables, a real drain seen in Slurm, streamed events, the denial as one line (no
traceback) and its audit record with channel ``api``."""

from __future__ import annotations

import os
import pwd
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.integration.api.make_notebook import NOTEBOOK, render

PLAYBOOKS = Path(__file__).resolve().parents[1] / "ansible" / "playbooks"
ME = f"unix:{pwd.getpwuid(os.getuid()).pw_name}"
POLICY = f"""
[roles.notebook]
kinds = ["read"]
actions = ["drain", "resume", "playbook:check-*"]
[[bindings]]
principals = ["{ME}"]
roles = ["notebook"]
"""


def _execute(config: Path, node: str, tmp_path: Path) -> list[nbformat.NotebookNode]:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    env_before = dict(os.environ)
    os.environ.update(
        {"DCOPS_NB_CONFIG": str(config), "DCOPS_NB_NODE": node, "XDG_STATE_HOME": str(tmp_path / "state")}
    )
    try:
        NotebookClient(
            nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    return nb.cells


def _text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _html(cell: nbformat.NotebookNode) -> str:
    return "".join(
        o.get("data", {}).get("text/html", "")
        for o in cell.outputs
        if o.output_type in ("execute_result", "display_data")
    )


def _check(cells: list[nbformat.NotebookNode], cluster: str, node: str) -> None:
    code = [c for c in cells if c.cell_type == "code"]
    assert _text(code[0]).strip() == f"connected {cluster} as {ME}"
    may_run = _text(code[1])
    assert "'drain'" in may_run and "'nodes'" in may_run and "'power'" not in may_run and "'reimage'" not in may_run
    assert "<table class='dcops'>" in _html(code[1]) and "<td>drain</td>" in _html(code[1])
    assert re.match(r"ok \d+ nodes", _text(code[2]))
    assert f"<td>{node}</td>" in _html(code[2])
    drain = _text(code[3])
    assert "drain ok" in drain and "notebook check" in drain and "drain" in drain.split("state", 1)[1]
    assert _text(code[4]).strip() == "stream run-started step result run-finished" or (
        _text(code[4]).startswith("stream run-started") and _text(code[4]).strip().endswith("run-finished")
    )
    # an approved playbook through the same engine (real ansible-runner over SSH on the lab)
    assert _text(code[5]).strip() == "playbook check-nvidia on 4 node(s): 4 ok (0 changed)"
    assert "<td>gpu004</td>" in _html(code[5])
    # the denied action: one line, the engine's reason, no traceback
    errors = [o for o in code[6].outputs if o.output_type == "error"]
    assert len(errors) == 1
    assert errors[0].traceback == [f"dcops: denied: no role of {ME} allows power (roles: notebook)"]
    assert "Traceback" not in _text(code[6])
    assert _text(code[7]).strip() == f"audited denied {ME} api power"
    assert "<td>denied</td>" in _html(code[7])
    assert _text(code[8]).strip() == f"sync pong from {cluster} for {ME}"
    assert _text(code[9]).strip() == "closed"


def test_the_notebook_file_is_what_make_notebook_writes() -> None:
    assert NOTEBOOK.read_text() == render()


def test_notebook_on_the_demo_cluster(tmp_path: Path) -> None:
    (tmp_path / "policy.toml").write_text(POLICY)
    config = tmp_path / "demo.toml"
    config.write_text(
        '[cluster]\nname = "nb-demo"\ndemo = true\n[audit]\nurl = "sqlite:///audit.db"\n'
        '[policy]\npath = "policy.toml"\n'
    )
    cells = _execute(config, "gpu005", tmp_path)
    _check(cells, "nb-demo", "gpu005")


@pytest.mark.lab
def test_notebook_on_the_slurm_lab(tmp_path: Path, cluster, ssh_nodes) -> None:  # noqa: ANN001 - lab fixtures
    (tmp_path / "policy.toml").write_text(POLICY)
    config = tmp_path / "lab.toml"
    env = ", ".join(f'{k} = "{v}"' for k, v in cluster.env.items())
    ssh = ssh_nodes.ssh_config()
    hosts = ", ".join(f'{k} = "{v}"' for k, v in ssh["hosts"].items())
    config.write_text(
        '[cluster]\nname = "nb-slurm-lab"\n[audit]\nurl = "sqlite:///audit.db"\n'
        '[policy]\npath = "policy.toml"\n'
        f'[slurm]\nmode = "cli"\ntimeout = 8.0\nenv = {{ {env} }}\n'
        f'[ssh]\nuser = "root"\nknown_hosts = "{ssh["known_hosts"]}"\n'
        f'client_keys = ["{ssh["client_keys"][0]}"]\nhosts = {{ {hosts} }}\n'
        f'[ansible]\nplaybook_dir = "{PLAYBOOKS}"\n'
    )
    cells = _execute(config, "gpu016", tmp_path)
    _check(cells, "nb-slurm-lab", "gpu016")
    # the drain and resume really reached slurmctld (the node is back in service, the reason is gone)
    import subprocess

    out = subprocess.run(
        ["scontrol", "-o", "show", "node", "gpu016"],
        env={**os.environ, **cluster.env},
        capture_output=True,
        text=True,
        timeout=15,
    ).stdout
    assert "DRAIN" not in out
