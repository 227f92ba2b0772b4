"""User text is data, never terminal commands: control characters are refused where they have no
business (a reason, a name) and shown escaped everywhere else.

A newline inside a reason must not fake a table row or an audit line; ``ESC ] 0 ; … BEL`` must not
retitle the operator's terminal, ``ESC [ 2 J`` must not clear it; Unicode line separators and bidi
overrides (the "Trojan Source" trick) must not make a line read differently from what it holds.
Escaping is Python's own ``\\x1b``/``\\n``/``\\u202e`` spelling, so what is shown can be typed back.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, Unicode line/paragraph separators, bidi embeddings/overrides/isolates
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    if ch in _NAMES:
        return _NAMES[ch]
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character shown as an escape (newlines kept if asked: for
    multi-line text dcops itself wrote, such as help)."""
    pattern = _CONTROL_BUT_NEWLINE if keep_newlines else _CONTROL
    return pattern.sub(_escape, text) if pattern.search(text) else text


def control_problem(text: str) -> str | None:
    """Why ``text`` is refused as input (None when it is plain text on one line)."""
    m = _CONTROL.search(text)
    if m is None:
        return None
    return f"contains a control character ({_escape(m)} at position {m.start() + 1}); type plain text on one line"
