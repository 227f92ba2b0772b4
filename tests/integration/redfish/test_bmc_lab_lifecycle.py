"""The lab BMC starter itself: idempotent start (replaces an earlier server, ignores a stale pid
file), stop by pid that leaves no process, no folder and no bound port behind."""

from __future__ import annotations

import base64
import json
import os
import ssl
import urllib.error
import urllib.request

import pytest

from tests.lab import bmc as lab_bmc
from tests.lab.bmc.control import _port_free
from tests.lab.slurm.procs import alive as _alive

pytestmark = pytest.mark.lab


PORT = int(os.environ.get("DCOPS_LAB_BMC_PORT", "18400")) + 500  # clear of this engineer's session lab


@pytest.fixture
def private_lab(tmp_path, monkeypatch):
    monkeypatch.setenv("DCOPS_LAB_DIR", str(tmp_path / "lab"))
    monkeypatch.setenv("DCOPS_LAB_BMC_PORT", str(PORT))
    yield
    lab_bmc.stop()


def _pid() -> int:
    return int((lab_bmc.lab_dir() / "server.pid").read_text())


def test_start_is_idempotent_and_stop_leaves_nothing(private_lab):
    first = lab_bmc.start(2)
    pid1 = _pid()
    second = lab_bmc.start(2)  # replaces the first server
    pid2 = _pid()
    assert pid1 != pid2 and not _alive(pid1) and _alive(pid2)
    ctx = ssl.create_default_context(cafile=second.ca)
    with urllib.request.urlopen(second.bmcs["gpu001"] + "/redfish/v1/", context=ctx, timeout=5) as resp:
        assert resp.status == 200  # the service root needs no credentials
    basic = "Basic " + base64.b64encode(f"{second.user}:{second.password()}".encode()).decode()
    req = urllib.request.Request(second.bmcs["gpu001"] + "/redfish/v1/Systems", headers={"Authorization": basic})
    with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
        assert json.loads(resp.read())["Members@odata.count"] == 1  # basic auth; one system per BMC
    with pytest.raises(urllib.error.HTTPError, match="401"):
        urllib.request.urlopen(second.bmcs["gpu001"] + "/redfish/v1/Systems", context=ctx, timeout=5)
    assert first.directory == second.directory
    assert lab_bmc.stop() and not _alive(pid2)
    lab_bmc.lab_dir().mkdir(parents=True)
    (lab_bmc.lab_dir() / "server.pid").write_text("999999\n")  # leftovers of a crashed run
    (lab_bmc.lab_dir() / "lab.json").write_text("{}")
    third = lab_bmc.start(2, profiles={"gpu002": "hgx"})
    pid3 = _pid()
    assert third.status()["nodes"].keys() == {"gpu001", "gpu002"}
    third.profile(["gpu001"], "idrac")
    third.reset()  # back to the profiles it was started with
    assert {n: s["profile"] for n, s in third.status()["nodes"].items()} == {"gpu001": "generic", "gpu002": "hgx"}
    assert lab_bmc.stop() and not _alive(pid3)
    assert not lab_bmc.lab_dir().exists()
    assert all(_port_free(p) for p in (PORT, PORT + 1, PORT + 10, PORT + 11))
