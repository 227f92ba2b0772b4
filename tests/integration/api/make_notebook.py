"""Writes ``dcops_api.ipynb`` (the notebook the API test executes) from the cells below, so the
notebook's source is reviewable Python; run ``python -m tests.integration.api.make_notebook``
after editing. The test checks the .ipynb is what this file makes."""

from __future__ import annotations

from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "dcops_api.ipynb"

CELLS: list[tuple[str, list[str]]] = [
    (
        "markdown",
        [
            "# dcops from a notebook\n",
            "The config comes from `DCOPS_NB_CONFIG` (the test points it at the demo cluster or the Slurm lab).",
        ],
    ),
    (
        "code",
        [
            "import os\n",
            "import dcops\n",
            "ops = await dcops.connect(os.environ['DCOPS_NB_CONFIG'])\n",
            "print('connected', ops.cluster, 'as', ops.principal)",
        ],
    ),
    ("code", ["acts = await ops.actions()\n", "print('may run', sorted(a.name for a in acts))\n", "acts"]),
    ("code", ["nodes = await ops.run('nodes')\n", "print(nodes.outcome, len(nodes.rows), 'nodes')\n", "nodes"]),
    (
        "code",
        [
            "node = os.environ['DCOPS_NB_NODE']\n",
            "drained = await ops.run('drain', nodes=node, reason='notebook check', confirm=1)\n",
            "print('drain', drained.outcome)\n",
            "states = {r['node']: r for r in (await ops.run('nodes ' + node)).records()}\n",
            "print('state', states[node]['state'], '|', states[node]['reason'])",
        ],
    ),
    (
        "code",
        [
            "kinds = []\n",
            "async for event in ops.stream(f'resume {node}'):\n",
            "    kinds.append(event.kind)\n",
            "print('stream', ' '.join(kinds))",
        ],
    ),
    ("code", ["played = await ops.run('playbook check-nvidia gpu[001-004]')\n", "print(played.summary)\n", "played"]),
    ("code", ["await ops.run(f'power {node} cycle', confirm=1)"]),
    (
        "code",
        [
            "denied = await ops.audit(event='denied', action='power')\n",
            "rec = denied.data[0]\n",
            "print('audited', rec['event'], rec['principal'], rec['channel'], rec['action'])\n",
            "denied",
        ],
    ),
    (
        "code",
        [
            "sync = dcops.connect_sync(os.environ['DCOPS_NB_CONFIG'])\n",
            "print('sync', sync.run('ping').summary)\n",
            "sync.close()",
        ],
    ),
    ("code", ["await ops.close()\n", "print('closed')"]),
]


def build() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, (kind, source) in enumerate(CELLS):
        cell = (nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell)("".join(source))
        cell.id = f"cell-{i:02d}"
        if "power" in cell.source and "cycle" in cell.source:
            cell.metadata["tags"] = ["raises-exception"]  # the policy denies it: one line, no traceback
        nb.cells.append(cell)
    return nb


def render() -> str:
    return nbformat.writes(build())


if __name__ == "__main__":
    NOTEBOOK.write_text(render())
