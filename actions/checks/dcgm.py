"""``dcgmi diag -r LEVEL -j`` output (DCGM 3.x JSON) -> failed tests.

The document: ``{"DCGM GPU Diagnostic": {"test_categories": [{"category": "Deployment" | "Hardware"
| "Integration" | "Stress" ..., "tests": [{"name": ..., "results": [{"gpu_ids": "3", "status":
"Pass" | "Fail" | "Warn" | "Skip", "warnings": [{"warning": TEXT, "error_id": N} | TEXT], "info":
[...]}]}]}], "version": "3.x", "Driver Version Detected": "..."}}``. DCGM 4 renamed the top key to
``DCGM Diagnostic``; both are read. Status case varies between versions (PASS / Pass), and a test
may be ``null`` in the list (seen in real output). dcgmi exits non-zero when a test fails, so the
verdict comes from the document, not the exit status; no document at all is a failure, never a pass.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DiagFailure:
    test: str
    category: str
    gpus: str
    message: str


@dataclass
class DiagReport:
    version: str = ""
    tests: int = 0
    failures: list[DiagFailure] = field(default_factory=list)
    warnings: list[DiagFailure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.tests > 0 and not self.failures

    def line(self) -> str:
        if self.passed:
            return f"dcgmi diag: {self.tests} tests passed" + (
                f" ({len(self.warnings)} warning(s))" if self.warnings else ""
            )
        if not self.tests:
            return "dcgmi diag: no test results"
        f = self.failures[0]
        more = f" (+{len(self.failures) - 1} more)" if len(self.failures) > 1 else ""
        return f"dcgmi diag: {f.test} failed on GPU {f.gpus}: {f.message}{more}"


def _text(w: object) -> str:
    if isinstance(w, dict):
        return str(w.get("warning") or w.get("message") or w)
    return str(w)


def parse_diag(text: str) -> DiagReport:
    """Raise ValueError (one line) when ``text`` holds no diag document."""
    start = text.find("{")
    if start < 0:
        raise ValueError("dcgmi printed no JSON document")
    try:
        data = json.loads(text[start : text.rfind("}") + 1])
    except ValueError as exc:
        raise ValueError(f"dcgmi printed malformed JSON ({exc})") from None
    root = (data.get("DCGM GPU Diagnostic") or data.get("DCGM Diagnostic")) if isinstance(data, dict) else None
    if not isinstance(root, dict):
        raise ValueError("dcgmi JSON has no 'DCGM GPU Diagnostic' object")
    report = DiagReport(version=str(root.get("version", "")))
    for cat in root.get("test_categories") or []:
        if not isinstance(cat, dict):
            continue
        for test in cat.get("tests") or []:
            if not isinstance(test, dict):
                continue
            report.tests += 1
            for res in test.get("results") or []:
                status = str(res.get("status", "")).lower()
                if status in ("pass", "skip", "skipped", "not run"):
                    continue
                msg = "; ".join(_text(w) for w in res.get("warnings") or []) or status
                item = DiagFailure(
                    test=str(test.get("name", "?")),
                    category=str(cat.get("category", "?")),
                    gpus=str(res.get("gpu_ids", res.get("gpu_id", "?"))),
                    message=msg,
                )
                (report.warnings if status in ("warn", "warning") else report.failures).append(item)
    return report
