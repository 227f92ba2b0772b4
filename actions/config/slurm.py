"""[slurm]: how dcops reaches Slurm (CLI locally or on the controller over SSH, slurmrestd)."""

from __future__ import annotations

from typing import Literal

from ._base import Section


class SlurmSection(Section):
    mode: Literal["cli", "rest", "pyslurm"] = "cli"
    controller_ssh: str | None = None  # run the CLI on this host over SSH instead of locally
    bin_dir: str | None = None  # where sinfo/squeue/scontrol live (default: PATH)
    rest_url: str | None = None  # e.g. http://127.0.0.1:6820
    rest_user: str | None = None
    token_env: str = "SLURM_JWT"  # env var holding the JWT for slurmrestd
    api_version: str = "v0.0.38"
    timeout: float = 15.0
    env: dict[str, str] = {}  # extra environment for the CLI (e.g. SLURM_CONF)
    # a drain reason starting with one of these marks a node a health check found bad (NHC writes
    # "NHC: ..."); `resume` refuses such nodes unless --force with a reason
    health_reason_prefixes: list[str] = ["NHC:", "health:"]
