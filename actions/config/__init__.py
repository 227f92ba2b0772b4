"""dcops configuration: one TOML file per cluster, validated by pydantic.

Found at ``--config FILE``, else ``$DCOPS_CONFIG``, else ``$XDG_CONFIG_HOME/dcops/config.toml``.
Each backend's section lives in its own module here so the section and its adapter change together.
Unknown keys are errors (a typo in a production config must not be silently ignored).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import ValidationError

from ..errors import ConfigError
from .model import DcopsConfig

__all__ = ["DcopsConfig", "load_config", "default_config_path", "demo_config"]


def default_config_path() -> Path:
    from ..paths import config_dir

    return config_dir() / "config.toml"


def load_config(path: str | os.PathLike[str] | None = None) -> DcopsConfig:
    """Load and validate a config file; the error names the file and the first bad key."""
    if path is None:
        path = os.environ.get("DCOPS_CONFIG") or default_config_path()
        if not Path(path).exists():
            raise ConfigError(
                f"no config file at {path}: pass --config FILE, set DCOPS_CONFIG, or use --demo for the built-in cluster"
            )
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"config file {p} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {p} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {p} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None
    return parse_config(raw, source=str(p), base_dir=p.parent)


def parse_config(raw: dict, *, source: str = "<config>", base_dir: Path | None = None) -> DcopsConfig:
    try:
        cfg = DcopsConfig.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        raise ConfigError(f"{source}: {where}: {err['msg'].removeprefix('Value error, ')}") from None
    return cfg.resolved(base_dir) if base_dir else cfg


def demo_config(data_dir: Path | None = None) -> DcopsConfig:
    """The built-in demo cluster: the simulator, a permissive demo policy, a private audit log."""
    from .model import AuditSection, ClusterSection

    # model_construct: these values are dcops' own constants, not a user's input, so they skip the
    # validation of the whole DcopsConfig (its schema spans every backend's section: ~10 ms of
    # `dcops --demo` start, issue 16); each section given is still a validated model, and
    # tests/unit/core/test_demo_config.py proves the result equals the validated one.
    audit = AuditSection(url=f"sqlite:///{data_dir / 'demo-audit.db'}") if data_dir is not None else AuditSection()
    return DcopsConfig.model_construct(cluster=ClusterSection(name="demo", demo=True), audit=audit)
