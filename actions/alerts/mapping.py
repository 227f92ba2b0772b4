"""The alert -> evidence / suggested actions mapping: data (``mapping.toml`` beside this module,
plus a site file from ``[alerts] mapping``), rendered into command lines of dcops' one grammar.

Rendering is done per word: the template is split into words first and each placeholder is filled
inside its own word, so a label value (which whoever writes the alerting rules controls) can never
add an option or an action. A value that would make a word start with ``-`` or that contains a
control character drops the command rather than running something else; a missing label drops it
too (NodeDown has no ``gpu``), so a suggestion is always complete or absent.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ConfigError

BUILTIN = Path(__file__).with_name("mapping.toml")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _ActionEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=40)
    command: str = Field(min_length=1)


class _AlertEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    match: dict[str, str] = Field(min_length=1)
    evidence: list[str] = []
    ticket: str = ""
    action: list[_ActionEntry] = []


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alert: list[_AlertEntry] = []


@dataclass(frozen=True)
class Suggestion:
    label: str
    command: list[str]  # words of the grammar, ready for parse_command

    @property
    def action(self) -> str:
        return self.command[0]

    @property
    def line(self) -> str:
        return shlex.join(self.command)


@dataclass(frozen=True)
class Playbook:
    """What one alert maps to, rendered for that alert."""

    evidence: list[list[str]] = field(default_factory=list)
    actions: list[Suggestion] = field(default_factory=list)
    ticket: str = ""
    skipped: list[str] = field(default_factory=list)  # templates dropped, and why

    @property
    def primary(self) -> Suggestion | None:
        return self.actions[0] if self.actions else None


def _values(labels: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    return {**labels, **{k: v for k, v in extra.items() if v}}


def render_words(template: str, values: dict[str, str]) -> list[str]:
    """The template's words with placeholders filled; ValueError naming the reason when a value is
    missing or unsafe."""
    words = shlex.split(template)
    out = []
    for word in words:

        def fill(m: re.Match[str]) -> str:
            key = m.group(1)
            if key not in values:
                raise ValueError(f"no {key!r} label")
            value = values[key]
            if _CONTROL.search(value):
                raise ValueError(f"label {key!r} has control characters")
            return value

        filled = _PLACEHOLDER.sub(fill, word)
        if filled.startswith("-") and not word.startswith("-"):
            raise ValueError(f"a label value would become an option: {filled!r}")
        out.append(filled)
    return out


def render_text(template: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: _CONTROL.sub(" ", values.get(m.group(1), f"<{m.group(1)}?>")), template)


class AlertMapping:
    def __init__(self, entries: list[_AlertEntry]) -> None:
        self.entries = entries

    def entry_for(self, labels: dict[str, str]) -> _AlertEntry | None:
        for e in self.entries:
            if all(fnmatch.fnmatchcase(labels.get(k, ""), pattern) for k, pattern in e.match.items()):
                return e
        return None

    def for_alert(self, labels: dict[str, str], **extra: str) -> Playbook | None:
        """The playbook for an alert's labels (``extra``: node, summary, fingerprint, starts_at...)."""
        entry = self.entry_for(labels)
        if entry is None:
            return None
        values = _values(labels, extra)
        skipped: list[str] = []
        evidence: list[list[str]] = []
        for t in entry.evidence:
            try:
                evidence.append(render_words(t, values))
            except ValueError as exc:
                skipped.append(f"{t}: {exc}")
        actions: list[Suggestion] = []
        for a in entry.action:
            try:
                actions.append(Suggestion(label=a.label, command=render_words(a.command, values)))
            except ValueError as exc:
                skipped.append(f"{a.command}: {exc}")
        return Playbook(evidence=evidence, actions=actions, ticket=render_text(entry.ticket, values), skipped=skipped)


def _load_file(path: Path) -> list[_AlertEntry]:
    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"alert mapping file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"alert mapping {path} is not valid TOML: {exc}") from None
    try:
        entries = _File.model_validate(raw).alert
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        raise ConfigError(f"alert mapping {path}: {where}: {err['msg']}") from None
    for e in entries:
        for t in [*e.evidence, *(a.command for a in e.action)]:
            try:
                shlex.split(t)
            except ValueError as exc:
                raise ConfigError(f"alert mapping {path}: command {t!r}: {exc}") from None
    return entries


@lru_cache(maxsize=8)
def load_mapping(site_file: str | None = None) -> AlertMapping:
    """The site's entries (first) and the built-in ones."""
    site = _load_file(Path(site_file)) if site_file else []
    return AlertMapping(site + _load_file(BUILTIN))
