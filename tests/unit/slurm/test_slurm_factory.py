"""Building the Slurm and SSH adapters from config: the modes and their clear config errors."""

from __future__ import annotations

import pytest

from dcops.actions.backends.factory import build_backends
from dcops.actions.backends.slurm_cli import SlurmCli
from dcops.actions.backends.slurm_rest import SlurmRest
from dcops.actions.backends.ssh import SshAdapter
from dcops.actions.config import parse_config
from dcops.actions.errors import ConfigError


async def test_cli_mode_with_ssh_and_static_addresses() -> None:
    cfg = parse_config(
        {
            "slurm": {"env": {"SLURM_CONF": "/x/slurm.conf"}},
            "ssh": {"known_hosts": "/x/known_hosts", "hosts": {"gpu002": "10.0.0.99"}},
            "nodes": [{"names": "gpu[001-002]", "ssh_host": "10.0.0.{index}"}],
        }
    )
    backends = build_backends(cfg)
    assert isinstance(backends.slurm, SlurmCli) and isinstance(backends.ssh, SshAdapter)
    assert backends.ssh.address("gpu001") == "10.0.0.1" and backends.ssh.address("gpu002") == "10.0.0.99"
    await backends.aclose()


def test_rest_mode_needs_a_url_and_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLURM_JWT", raising=False)
    with pytest.raises(ConfigError, match="needs rest_url"):
        build_backends(parse_config({"slurm": {"mode": "rest"}}))
    with pytest.raises(ConfigError, match="SLURM_JWT"):
        build_backends(parse_config({"slurm": {"mode": "rest", "rest_url": "http://127.0.0.1:6820"}}))
    monkeypatch.setenv("SLURM_JWT", "token")
    assert isinstance(
        build_backends(parse_config({"slurm": {"mode": "rest", "rest_url": "http://h:6820"}})).slurm, SlurmRest
    )


def test_controller_ssh_needs_an_ssh_section() -> None:
    with pytest.raises(ConfigError, match=r"controller_ssh needs an \[ssh\] section"):
        build_backends(parse_config({"slurm": {"controller_ssh": "slurmctl01"}}))


def test_unknown_slurm_keys_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="slurm.moed"):
        parse_config({"slurm": {"moed": "cli"}})
