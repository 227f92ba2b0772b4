"""The README's config reference parses as written: every key lands in the section it is documented
under. TOML files a bare key after ``[kube]`` under ``kube``, so an example that lists top-level keys
late would teach a config that is refused ("unknown key") or, worse, silently means something else."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from dcops.actions.config import parse_config
from dcops.actions.errors import DcopsError

README = (Path(__file__).resolve().parents[3] / "README.md").read_text()


def _reference_block() -> str:
    section = README.split("## Pointing dcops at a real cluster", 1)[1]
    found = re.search(r"```toml\n(.*?)```", section, re.S)
    assert found, "the config reference block is missing from the README"
    return found.group(1)


def test_the_config_reference_parses_with_every_key_where_it_is_documented(tmp_path: Path) -> None:
    raw = tomllib.loads(_reference_block())
    cfg = parse_config(raw, source="README.md", base_dir=tmp_path)
    assert cfg.topology == "/etc/dcops/fabric.topo"
    assert cfg.thresholds == {"gpu_temp_c": 85}
    assert cfg.kube is not None and cfg.kube.node_map == {"gpu001": "gpu001.k8s"}
    assert cfg.cluster.name == "prod-east" and cfg.cluster.production


def test_a_top_level_key_written_after_a_section_is_refused_in_one_line(tmp_path: Path) -> None:
    """The mistake the reference used to teach: the key is filed under [kube] and refused."""
    raw = tomllib.loads('[kube]\nkubeconfig = "/k"\ntopology = "/t"\n')
    with pytest.raises(DcopsError) as err:
        parse_config(raw, source="site.toml", base_dir=tmp_path)
    assert "topology" in str(err.value) and "\n" not in str(err.value).strip()
