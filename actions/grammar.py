"""The one command grammar, shared by the CLI, the TUI's ``:`` line and Slack's ``/dcops``:

    drain gpu[001-004] --reason "xid 79" --dry-run
    cancel 1234 1235
    audit --node gpu017 --since 2h

Options and positionals come from each action's pydantic params model, so help and errors are
generated, never written twice. argparse is not used: it prints and exits on errors, and its
help format is terminal-only; here every error is a one-line UsageError any front end can show.
"""

from __future__ import annotations

import shlex
import typing
from dataclasses import dataclass
from typing import Any

from pydantic.fields import FieldInfo

from .errors import UsageError
from .registry import ActionSpec, Registry
from .registry import registry as default_registry


@dataclass(frozen=True)
class Command:
    action: str
    params: dict[str, Any]


def _is_bool(info: FieldInfo) -> bool:
    return info.annotation is bool


def _is_list(info: FieldInfo) -> bool:
    ann = info.annotation
    origin = typing.get_origin(ann)
    if origin in (list, tuple, set):
        return True
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(typing.get_origin(a) in (list, tuple, set) for a in typing.get_args(ann))
    return False


def _opt(name: str) -> str:
    return "--" + name.replace("_", "-")


def split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UsageError(f'cannot parse command: {exc} (quote values with spaces: --reason "xid 79")') from None


def parse_command(text: str | list[str], *, registry: Registry | None = None) -> Command:
    """Parse a command line into an action name and raw params (validated later by the engine)."""
    reg = registry or default_registry
    tokens = split(text) if isinstance(text, str) else list(text)
    if not tokens:
        raise UsageError("empty command; try `help` for the list of actions")
    spec = reg.get(tokens[0])
    return Command(action=spec.name, params=parse_args(spec, tokens[1:]))


def parse_args(spec: ActionSpec, tokens: list[str]) -> dict[str, Any]:
    fields = spec.params.model_fields
    by_opt = {_opt(n): n for n in fields}
    params: dict[str, Any] = {}
    positional: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--") and len(tok) > 2:
            key, eq, inline = tok.partition("=")
            name = by_opt.get(key)
            if (
                name is None
                and key.startswith("--no-")
                and by_opt.get("--" + key[5:])
                and _is_bool(fields[by_opt["--" + key[5:]]])
            ):
                params[by_opt["--" + key[5:]]] = False
                i += 1
                continue
            if name is None:
                accepted = ", ".join(sorted(by_opt)) or "none"
                raise UsageError(f"{spec.name}: unknown option {key}; accepted: {accepted}")
            info = fields[name]
            if _is_bool(info):
                params[name] = inline if eq else True
                i += 1
                continue
            if eq:
                value = inline
            else:
                if i + 1 >= len(tokens):
                    raise UsageError(f"{spec.name}: {key} needs a value")
                value = tokens[i + 1]
                i += 1
            if _is_list(info):
                params.setdefault(name, []).extend(v for v in value.split(",") if v)
            else:
                if name in params:
                    raise UsageError(f"{spec.name}: {key} given twice")
                params[name] = value
            i += 1
        elif tok == "--":
            positional.extend(tokens[i + 1 :])
            break
        else:
            positional.append(tok)
            i += 1
    _assign_positional(spec, positional, params)
    return params


def _assign_positional(spec: ActionSpec, values: list[str], params: dict[str, Any]) -> None:
    fields = spec.params.model_fields
    slots = list(spec.positional)
    for idx, name in enumerate(slots):
        if not values:
            break
        if name in params:
            raise UsageError(f"{spec.name}: {name.upper()} given both by position and as {_opt(name)}")
        if _is_list(fields[name]):
            rest = len(slots) - idx - 1
            take, values = (
                (values[: len(values) - rest] if rest else values),
                (values[len(values) - rest :] if rest else []),
            )
            params[name] = [v for t in take for v in t.split(",") if v]
        else:
            params[name] = values.pop(0)
    if values:
        usage_line = usage(spec)
        raise UsageError(f"{spec.name}: unexpected argument {values[0]!r}; usage: {usage_line}")


def usage(spec: ActionSpec) -> str:
    fields = spec.params.model_fields
    parts = [spec.name]
    for name in spec.positional:
        info = fields[name]
        word = name.upper() + ("..." if _is_list(info) else "")
        parts.append(word if info.is_required() else f"[{word}]")
    for name, info in fields.items():
        if name in spec.positional:
            continue
        opt = _opt(name)
        if _is_bool(info):
            parts.append(f"[{opt}]")
        else:
            meta = (info.json_schema_extra or {}).get("metavar") if isinstance(info.json_schema_extra, dict) else None
            word = f"{opt} {meta or name.upper()}"
            parts.append(word if info.is_required() else f"[{word}]")
    return " ".join(parts)


def command_help(spec: ActionSpec) -> str:
    """Multi-line help for one action: usage, then one line per option."""
    lines = [f"{spec.name} — {spec.help}", f"usage: {usage(spec)}"]
    for name, info in spec.params.model_fields.items():
        label = name.upper() if name in spec.positional else _opt(name)
        desc = info.description or ""
        default = (
            "" if info.is_required() or info.default in (None, False, "", [], ()) else f" (default {info.default})"
        )
        lines.append(f"  {label:<22} {desc}{default}")
    flags = [spec.kind.value]
    if spec.confirm:
        flags.append("asks for confirmation")
    if spec.approval:
        flags.append("needs a second person's approval")
    if spec.resumable:
        flags.append("resumable")
    lines.append("  [" + ", ".join(flags) + "]")
    return "\n".join(lines)


def complete(text: str, node_names: list[str], *, registry: Registry | None = None) -> list[str]:
    """Completions for the last word: action names first, then options and node names."""
    reg = registry or default_registry
    words = text.split(" ")
    last = words[-1]
    if len(words) == 1:
        return [n for n in reg.names() if n.startswith(last)]
    if words[0] not in reg:
        return []
    spec = reg.get(words[0])
    if last.startswith("--"):
        return [_opt(n) for n in spec.params.model_fields if _opt(n).startswith(last)]
    return [n for n in node_names if n.startswith(last)][:50]
