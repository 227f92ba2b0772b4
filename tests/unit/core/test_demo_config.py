"""``demo_config()`` builds its DcopsConfig with ``model_construct`` (no validation of the whole
config: CLI start, issue 16). These prove it is the same config a validation would give, so
skipping the validation of dcops' own constants hides nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.actions.config import DcopsConfig, demo_config, parse_config
from dcops.actions.errors import ConfigError


@pytest.mark.parametrize("data_dir", [None, Path("/var/tmp/dcops-demo")])
def test_the_demo_config_equals_its_validated_self(data_dir: Path | None) -> None:
    cfg = demo_config(data_dir)
    again = DcopsConfig.model_validate(cfg.model_dump(by_alias=True))
    assert again == cfg
    assert again.model_dump() == cfg.model_dump()
    assert cfg.kind == "demo" and cfg.cluster.name == "demo" and cfg.cluster.demo
    assert cfg.backend_section("slurm") is None and cfg.backend_section("kube") is None
    if data_dir is not None:
        assert cfg.audit.effective_url() == f"sqlite:///{data_dir / 'demo-audit.db'}"


def test_the_demo_config_is_frozen_and_a_changed_copy_is_still_validated() -> None:
    cfg = demo_config()
    with pytest.raises(ValueError):
        cfg.cluster = cfg.cluster  # type: ignore[misc]
    # the --nodes path re-validates through parse_config: a bad value is still refused
    with pytest.raises(ConfigError, match="demo_nodes"):
        parse_config({"cluster": {**cfg.cluster.model_dump(), "demo_nodes": "many"}}, source="--nodes")
