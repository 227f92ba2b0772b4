"""Turn pydantic validation errors into the one-line messages users see, naming options the way
they type them (``--max-parallel``), and saying what is accepted; and the rules a reason must meet
before it is handed to a system that would show it otherwise than typed (:data:`SlurmReason`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ValidationError

from .registry import ActionSpec

SLURM_LEADING_QUOTE = (
    "Slurm would drop its leading double quote; accepted: one line of printable text that does not "
    'start with " (quotes after the first character are kept)'
)


def kept_by_slurm(reason: str) -> str:
    """``reason`` unchanged, or ValueError when Slurm would not show it as typed.

    ``scontrol update ... Reason=VALUE`` drops VALUE's first character when it is a double quote,
    and its last when that is one, whether VALUE comes as an argv word or on the long-lived
    session's stdin (lab: ``"hi" there`` is stored as ``hi" there``). Every reason dcops hands to
    Slurm ends with its stamp ``[who via where]``, so only the front is at risk; the adapter strips
    surrounding whitespace first, hence ``lstrip``. Refused, not padded with one more quote: padding
    would rest on scontrol removing exactly one quote per side on every version, silently, while a
    refusal is one line the operator can act on before anything starts."""
    if reason.lstrip().startswith('"'):
        raise ValueError(SLURM_LEADING_QUOTE)
    return reason


SlurmReason = Annotated[str, AfterValidator(kept_by_slurm)]
"""A reason Slurm shows as it was typed (drain, and the drain of firmware-update and reimage)."""


def option_name(spec: ActionSpec, field: str) -> str:
    if field in spec.positional:
        return field.upper()
    return "--" + field.replace("_", "-")


def describe(spec: ActionSpec, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = err.get("loc") or ()
        field = str(loc[0]) if loc else ""
        name = option_name(spec, field) if field else spec.name
        if err["type"] == "missing":
            parts.append(f"{name} is required")
        elif err["type"] == "extra_forbidden":
            accepted = ", ".join(option_name(spec, f) for f in spec.params.model_fields)
            parts.append(f"unknown option {name}; accepted: {accepted}")
        elif err["type"] in ("literal_error", "enum") and "expected" in err.get("ctx", {}):
            expected = err["ctx"]["expected"].replace("'", "")
            parts.append(f"{name}: {str(err.get('input'))[:40]!r} is not accepted; accepted: {expected}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            parts.append(f"{name}: {msg}" if field else msg)  # model-level checks name their options
    return f"{spec.name}: " + "; ".join(parts)
