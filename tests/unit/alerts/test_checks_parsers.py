"""The validation parsers on the tools' real shapes: DCGM 3.x diag JSON (pass, fail, warn, a null
test, upper-case status, text before the document), nvidia-smi GPU lists with a lost GPU, NVLink
status; no document is never a pass."""

from __future__ import annotations

import json

import pytest

from dcops.actions.checks.dcgm import parse_diag
from dcops.actions.checks.smi import parse_apps, parse_gpus, parse_nvlink_status


def doc(*tests: dict) -> str:
    return json.dumps(
        {
            "DCGM GPU Diagnostic": {
                "version": "3.3.5",
                "test_categories": [
                    {
                        "category": "Deployment",
                        "tests": [{"name": "Denylist", "results": [{"gpu_ids": "0,1", "status": "PASS"}]}, None],
                    },
                    {"category": "Hardware", "tests": list(tests)},
                ],
            }
        }
    )


def test_passing_failing_and_warning_results() -> None:
    ok = parse_diag(
        "WARNING: a banner before the JSON\n"
        + doc(
            {"name": "GPU Memory", "results": [{"gpu_ids": "0", "status": "Pass"}, {"gpu_ids": "1", "status": "Skip"}]}
        )
    )
    assert ok.passed and ok.tests == 2 and ok.line() == "dcgmi diag: 2 tests passed"
    warn = parse_diag(doc({"name": "PCIe", "results": [{"gpu_ids": "1", "status": "Warn", "warnings": ["replays"]}]}))
    assert warn.passed and warn.warnings[0].message == "replays"
    bad = parse_diag(
        doc(
            {
                "name": "GPU Memory",
                "results": [
                    {"gpu_ids": "3", "status": "Fail", "warnings": [{"warning": "DBE detected", "error_id": 28}]},
                    {"gpu_ids": "4", "status": "FAIL", "warnings": ["x"]},
                ],
            }
        )
    )
    assert not bad.passed and bad.line() == "dcgmi diag: GPU Memory failed on GPU 3: DBE detected (+1 more)"


@pytest.mark.parametrize(
    "text, why",
    [
        ("", "no JSON"),
        ("Error: unable to connect to host engine", "no JSON"),
        ("{broken", "malformed JSON"),
        ('{"something": 1}', "no 'DCGM GPU Diagnostic'"),
        ("[1, 2]", "no JSON"),
        ('[{"x": 1}]', "no .DCGM GPU Diagnostic."),
    ],
)
def test_no_document_is_an_error_never_a_pass(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_diag(text)


def test_an_empty_document_does_not_pass() -> None:
    assert not parse_diag(json.dumps({"DCGM GPU Diagnostic": {"version": "4.2.3"}})).passed


def test_smi_parsers() -> None:
    gpus = parse_gpus("0, 00000000:18:00.0, NVIDIA H100 80GB HBM3, 535.104.05\n3, ERR!, ERR!, ERR!\nnoise\n")
    assert [(g.index, g.lost) for g in gpus] == [(0, False), (3, True)]
    links = parse_nvlink_status("GPU 0: H100 (UUID: x)\n\t Link 0: 26.562 GB/s\n\t Link 1: <inactive>\nGPU 1: H100\n")
    assert links == {0: [1], 1: []}
    assert parse_apps("00000000:18:00.0, 4242, python3\nNo running processes found\n") == [
        ("00000000:18:00.0", 4242, "python3")
    ]
