"""The approved playbooks: ``NAME.yml`` files in ``[ansible] playbook_dir``, nothing else.

A playbook is run by its name, never by a path: a name is lowercase letters, digits, ``-`` and
``_`` (so no ``/``, no ``..``, no hidden files), and the file must be a regular file directly in
the directory (a symlink out of it is refused). What the playbook accepts is declared beside it in
``NAME.meta.yml``, in the shape of Ansible's role ``argument_specs`` (so it reads familiar)::

    description: Install or upgrade the NVIDIA driver
    vars:
      driver_version: {type: str, required: true, pattern: '^[0-9]+(\\.[0-9]+)+$',
                       description: "driver version, e.g. 550.54.15"}
      reboot: {type: bool, default: false}

A playbook without a meta file takes no extra variables. Every extra var a request gives must be
declared, of its type, among its ``choices`` and matching its ``pattern``; declaring an
``ansible_*`` name (connection settings: an extra var would override dcops' inventory, e.g.
``ansible_ssh_common_args`` with a ProxyCommand) or another Ansible magic variable is a catalog
error. The content hash (SHA-256 of ``NAME.yml``) goes into the request, so the audit record and an
approval name exactly the bytes that ran: a playbook edited after approval is refused.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UsageError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
VAR_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
TYPES = ("str", "int", "float", "bool", "list")
# Ansible's magic variables and connection settings: never settable from a request
RESERVED = frozenset(
    {
        "hostvars",
        "groups",
        "group_names",
        "inventory_hostname",
        "inventory_hostname_short",
        "play_hosts",
        "ansible_play_hosts",
        "environment",
        "omit",
        "playbook_dir",
        "inventory_dir",
        "inventory_file",
        "role_path",
        "vars",
    }
)
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}


_JINJA = re.compile(r"\{\{|\{%|\{#")


def refuse_templates(what: str, value: Any) -> None:
    """Ansible templates variable values when a task uses them, and a template can run lookups on
    the machine dcops runs on (``{{ lookup('pipe', 'id') }}``): a value from a request is data,
    never a template, so Jinja delimiters are refused outright."""
    if isinstance(value, str) and _JINJA.search(value):
        raise UsageError(
            f"{what}: values cannot contain Jinja delimiters ({{{{, {{%, {{#); they would be templated by Ansible"
        )


@dataclass(frozen=True)
class VarSpec:
    name: str
    type: str = "str"
    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] = ()
    pattern: str | None = None
    description: str = ""

    def convert(self, playbook: str, raw: Any) -> Any:
        """The value as Ansible should see it; a UsageError naming what is accepted otherwise."""
        what = f"playbook {playbook}: variable {self.name}"
        value: Any
        try:
            if self.type == "bool":
                if isinstance(raw, bool):
                    value = raw
                elif str(raw).lower() in _TRUE | _FALSE:
                    value = str(raw).lower() in _TRUE
                else:
                    raise ValueError
            elif self.type == "int":
                if isinstance(raw, bool):
                    raise ValueError
                value = int(str(raw), 10)
            elif self.type == "float":
                value = float(raw)
            elif self.type == "list":
                value = list(raw) if isinstance(raw, (list, tuple)) else [v for v in str(raw).split(",") if v]
                value = [str(v) for v in value]
            else:
                if isinstance(raw, (dict, list)):
                    raise ValueError
                value = str(raw)
        except (TypeError, ValueError):
            raise UsageError(f"{what}: {raw!r} is not a {self.type}") from None
        for item in value if isinstance(value, list) else [value]:
            refuse_templates(what, item)
        if self.choices and value not in self.choices:
            raise UsageError(f"{what}: {raw!r} is not one of {', '.join(map(str, self.choices))}")
        if self.pattern is not None:
            for item in value if isinstance(value, list) else [value]:
                if not re.fullmatch(self.pattern, str(item)):
                    raise UsageError(f"{what}: {item!r} does not match {self.pattern}")
        return value


@dataclass(frozen=True)
class Playbook:
    name: str
    path: Path
    sha256: str
    description: str = ""
    vars: dict[str, VarSpec] = field(default_factory=dict)

    def extra_vars(self, given: dict[str, Any]) -> dict[str, Any]:
        """The request's extra vars checked against the declaration, defaults filled in."""
        unknown = sorted(set(given) - set(self.vars))
        if unknown:
            accepted = ", ".join(sorted(self.vars)) or "none (this playbook declares no variables)"
            raise UsageError(
                f"playbook {self.name}: unknown variable{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(unknown)}; accepted: {accepted}"
            )
        out: dict[str, Any] = {}
        for name, spec in self.vars.items():
            if name in given:
                out[name] = spec.convert(self.name, given[name])
            elif spec.required:
                raise UsageError(
                    f"playbook {self.name}: variable {name} is required "
                    f"(--var {name}=VALUE){': ' + spec.description if spec.description else ''}"
                )
            elif spec.default is not None:
                out[name] = spec.default
        return out


def _meta(path: Path, name: str) -> tuple[str, dict[str, VarSpec]]:
    meta_path = path.with_name(f"{name}.meta.yml")
    if not meta_path.exists():
        return "", {}
    where = f"playbook metadata {meta_path}"
    import yaml  # here, not at the top: every CLI command imports this module, few read a playbook's metadata

    try:
        raw = yaml.safe_load(meta_path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{where}: cannot read it: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict) or set(raw) - {"description", "vars"}:
        raise ConfigError(f"{where}: expected a mapping with 'description' and 'vars'")
    specs: dict[str, VarSpec] = {}
    for var, decl in (raw.get("vars") or {}).items():
        var = str(var)
        if not VAR_RE.match(var) or var.startswith("ansible_") or var in RESERVED:
            raise ConfigError(
                f"{where}: variable {var!r} cannot be declared (lowercase names only; "
                "ansible_* and Ansible's magic variables are dcops' or Ansible's own)"
            )
        decl = decl or {}
        if not isinstance(decl, dict) or set(decl) - {
            "type",
            "required",
            "default",
            "choices",
            "pattern",
            "description",
        }:
            raise ConfigError(
                f"{where}: variable {var}: accepted keys are type, required, default, choices, pattern, description"
            )
        if decl.get("type", "str") not in TYPES:
            raise ConfigError(f"{where}: variable {var}: type {decl.get('type')!r} is not one of {', '.join(TYPES)}")
        if decl.get("pattern") is not None:
            try:
                re.compile(decl["pattern"])
            except re.error as exc:
                raise ConfigError(f"{where}: variable {var}: bad pattern: {exc}") from None
        specs[var] = VarSpec(
            name=var,
            type=decl.get("type", "str"),
            required=bool(decl.get("required", False)),
            default=decl.get("default"),
            choices=tuple(decl.get("choices") or ()),
            pattern=decl.get("pattern"),
            description=str(decl.get("description", "")),
        )
    return str(raw.get("description", "")), specs


def _directory(playbook_dir: str | Path) -> Path:
    d = Path(playbook_dir)
    if not d.is_dir():
        raise ConfigError(f"[ansible] playbook_dir {d} is not a directory")
    return d.resolve()


def names(playbook_dir: str | Path) -> list[str]:
    d = _directory(playbook_dir)
    return sorted(
        p.stem
        for p in d.glob("*.yml")
        if NAME_RE.match(p.stem) and not p.name.endswith(".meta.yml") and p.is_file() and not p.is_symlink()
    )


def find(playbook_dir: str | Path, name: str) -> Playbook:
    """The approved playbook called ``name``, read now (its hash is of these bytes)."""
    d = _directory(playbook_dir)
    known = names(d)
    if not NAME_RE.match(name) or name not in known:
        shown = ", ".join(known) or f"none (the directory {d} has no NAME.yml)"
        raise UsageError(f"playbook: no approved playbook {name!r} (a name from {d}, not a path); approved: {shown}")
    path = d / f"{name}.yml"
    if path.is_symlink() or path.resolve().parent != d:
        raise UsageError(f"playbook: {name} is not a regular file in {d}")
    data = path.read_bytes()
    description, specs = _meta(path, name)
    return Playbook(name=name, path=path, sha256=hashlib.sha256(data).hexdigest(), description=description, vars=specs)


def catalog(playbook_dir: str | Path) -> list[Playbook]:
    return [find(playbook_dir, n) for n in names(playbook_dir)]
