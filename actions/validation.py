"""Turn pydantic validation errors into the one-line messages users see, naming options the way
they type them (``--max-parallel``), and saying what is accepted."""

from __future__ import annotations

from pydantic import ValidationError

from .registry import ActionSpec


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
