"""The ``command`` provisioning provider's own rules, with real subprocesses and the simulator's
SSH (its end-to-end run on the lab's Slurm and sshd nodes is
tests/integration/redfish/test_provision_command_lab.py)."""

from __future__ import annotations

import os
import sys

import pytest

from dcops.actions.backends.ports import SshPort
from dcops.actions.backends.provision_command import CommandOptions, CommandProvisioner
from dcops.actions.config import parse_config
from dcops.actions.errors import BackendError, BackendUnavailable, ConfigError, UsageError
from dcops.actions.sim import SimCluster

PY = sys.executable
NAME = os.path.basename(PY)


def _prov(**options) -> CommandProvisioner:
    ssh = SimCluster(nodes=4, time_scale=1000.0).backends().get(SshPort)
    return CommandProvisioner(ssh, CommandOptions(**{"boot": ["true"], **options}))


async def test_commands_get_node_and_image_as_whole_words(tmp_path) -> None:
    out = tmp_path / "argv"
    prov = _prov(
        arm=[PY, "-c", f"import sys; open({str(out)!r}, 'w').write(repr(sys.argv[1:]))", "host={node}", "{image}"]
    )
    assert await prov.arm("gpu001", "img-2026;$(reboot)") == f"{NAME} ok"
    assert out.read_text() == repr(["host=gpu001", "img-2026;$(reboot)"])  # one word, never a shell


@pytest.mark.parametrize("image", ["--delete-all", "-x", "a b", "x\ny", "x\x1b[2J"])
async def test_an_image_id_that_could_be_an_option_or_break_a_line_is_refused(image: str) -> None:
    with pytest.raises(UsageError, match="image id .* is refused"):
        await _prov(arm=["true"]).arm("gpu001", image)


async def test_a_failing_command_is_one_line_naming_it_and_its_last_words() -> None:
    prov = _prov(boot=[PY, "-c", "import sys; print('rebooting'); sys.exit('host gpu001 not found in Foreman')"])
    await prov.arm("gpu001", "img")
    with pytest.raises(BackendError) as exc:
        await prov.boot("gpu001")
    assert str(exc.value) == f"provisioning: {NAME} failed for gpu001: host gpu001 not found in Foreman"


async def test_a_hanging_command_is_bounded_and_a_missing_one_named() -> None:
    prov = _prov(boot=[PY, "-c", "import time; time.sleep(30)"], timeout=0.5)
    await prov.arm("gpu001", None)
    with pytest.raises(BackendUnavailable, match=r"did not finish within 0.5 s"):
        await prov.boot("gpu001")
    with pytest.raises(BackendUnavailable, match="cannot run /nonexistent/hammer"):
        await _prov(boot=["/nonexistent/hammer"]).boot("gpu001")


async def test_without_a_started_command_a_resumed_run_never_boots_again() -> None:
    assert await _prov().install_started("gpu001") is True
    assert await _prov(started=["false"]).install_started("gpu001") is False
    assert await _prov(started=["true"]).install_started("gpu001") is True


async def test_image_is_needed_only_by_commands_that_use_it() -> None:
    prov = _prov(boot=["echo", "{image}"])
    await prov.arm("gpu001", None)
    with pytest.raises(UsageError, match=r"needs \{image\}: pass --image or set options.default_image"):
        await prov.boot("gpu001")
    prov = _prov(boot=["echo", "{image}"], default_image="rocky-9")
    await prov.arm("gpu001", None)
    assert await prov.boot("gpu001") == "echo ok: rocky-9"
    assert await prov.image("gpu001")  # the simulator's /etc/dcops-image over SSH


def test_config_checks_the_commands() -> None:
    with pytest.raises(ConfigError, match=r"options\.boot: Field required"):
        parse_config({"provisioning": {"provider": "command"}})
    with pytest.raises(ConfigError, match=r"options\.arm: '\{host\}' uses \{host\}; accepted: \{node\} and \{image\}"):
        parse_config({"provisioning": {"provider": "command", "options": {"boot": ["x"], "arm": ["x", "{host}"]}}})
    with pytest.raises(ConfigError, match=r"options\.boot: an empty command"):
        parse_config({"provisioning": {"provider": "command", "options": {"boot": []}}})
