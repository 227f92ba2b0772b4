"""Build the Slurm and SSH adapters from ``[slurm]`` and ``[ssh]`` (called by ``factory``).

Kept apart from ``factory`` so the Slurm/SSH wiring (CLI here or on the controller, REST with the
CLI for what REST cannot do, pyslurm) changes with its adapters, not in the shared module.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pydantic import SecretStr

from ..config.model import DcopsConfig
from ..errors import ConfigError
from ..inventory import StaticInventory
from .ports import SlurmPort
from .slurm_cli import SlurmCli
from .slurm_runner import LocalRunner, SshRunner

if TYPE_CHECKING:  # asyncssh takes ~0.4 s to import: only a site with [ssh] (or controller_ssh) pays it
    from .ssh import SshAdapter


def _static_addresses(config: DcopsConfig) -> dict[str, str]:
    """``[[nodes]] ssh_host`` templates, expanded per node."""
    refs = StaticInventory(config.nodes)._refs  # noqa: SLF001 - sync access to the expanded entries
    return {r.name: r.ssh_host for r in refs if r.ssh_host}


def build_ssh(config: DcopsConfig) -> SshAdapter:
    from .ssh import SshAdapter

    assert config.ssh is not None
    return SshAdapter(config.ssh, _static_addresses(config))


def build_cli(config: DcopsConfig) -> SlurmCli:
    section = config.slurm
    assert section is not None
    if section.controller_ssh:
        if config.ssh is None:
            raise ConfigError("[slurm] controller_ssh needs an [ssh] section (user, known_hosts, client_keys)")
        ssh = build_ssh(config)
        runner = SshRunner(
            ssh, section.controller_ssh, timeout=section.timeout, env=section.env, bin_dir=section.bin_dir
        )
        return SlurmCli(runner, where=section.controller_ssh, closer=ssh)
    return SlurmCli(LocalRunner(timeout=section.timeout, env=section.env, bin_dir=section.bin_dir))


def build_slurm(config: DcopsConfig) -> SlurmPort:
    section = config.slurm
    assert section is not None
    if section.mode == "cli":
        return build_cli(config)
    if section.mode == "rest":
        from .slurm_rest import SlurmRest

        if not section.rest_url:
            raise ConfigError('[slurm] mode = "rest" needs rest_url (e.g. http://slurmctl01:6820)')
        token = os.environ.get(section.token_env, "")
        if not token:
            raise ConfigError(
                f'[slurm] mode = "rest": environment variable {section.token_env} (token_env) '
                "holds no JWT; get one with `scontrol token`"
            )
        user = section.rest_user or os.environ.get("USER") or "root"
        return SlurmRest(
            section.rest_url,
            user=user,
            token=SecretStr(token),
            fallback=build_cli(config),
            api_version=section.api_version,
            timeout=section.timeout,
        )
    from .slurm_pyslurm import SlurmPyslurm

    return SlurmPyslurm(timeout=section.timeout)
