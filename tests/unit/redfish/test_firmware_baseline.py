"""Baseline files and firmware version ordering (dotted decimal, dotted hex VBIOS, mixed)."""

from __future__ import annotations

import pytest

from dcops.actions.backends.models import FirmwareComponent
from dcops.actions.errors import UsageError
from dcops.actions.ops._baseline import Wanted, compare_versions, compliance, load_baseline
from dcops.actions.ops.firmware import FirmwareUpdateParams, plan_node, version_from_image


@pytest.mark.parametrize(
    "a, b, want",
    [
        ("1.10.0", "1.9.9", 1),
        ("2.3.1", "2.4.0", -1),
        ("2.4.0", "2.4.0", 0),
        ("2.4", "2.4.0", -1),
        ("96.00.89.00.01", "96.00.af.00.02", -1),
        ("96.00.AF.00.02", "96.00.af.00.02", 0),
        ("28.39.1002", "28.40.1000", -1),
        ("1.2.3-rc1", "1.2.3", 1),
        ("v1", "1", None),
    ],
)
def test_compare_versions(a, b, want):
    assert compare_versions(a, b) == want
    if want is not None:
        assert compare_versions(b, a) == -want


def test_compliance_states():
    w = Wanted("BIOS", "2.4.0")
    assert [compliance(v, w) for v in ("2.4.0", "2.3.1", "2.5.0", "", "x.y")] == [
        "compliant",
        "outdated",
        "newer",
        "unknown",
        "unknown",
    ]
    assert compliance("2.4.0", None) == "unknown"


def test_baseline_families_and_images(tmp_path):
    f = tmp_path / "b.toml"
    f.write_text('BMC = "1.12.0"\n[GPU]\nversion = "96.00.af.00.02"\nimage = "http://f/gpu-96.00.af.00.02.bin"\n')
    base = load_baseline(str(f))
    assert base.for_component("GPU7").version == "96.00.af.00.02"
    assert base.for_component("BMC").image is None and base.for_component("HCA0") is None
    inv = [
        FirmwareComponent(id="BMC", version="1.10.0"),
        FirmwareComponent(id="GPU0", version="96.00.89.00.01"),
        FirmwareComponent(id="GPU1", version="96.00.af.00.02"),
    ]
    p = FirmwareUpdateParams(nodes="n1", baseline=str(f))
    with pytest.raises(UsageError, match="BMC 1.12.0 has no image URL"):
        plan_node(p, base, inv)
    plan = plan_node(p, base, inv[1:])
    assert [(i.image, i.components, i.version) for i in plan] == [
        ("http://f/gpu-96.00.af.00.02.bin", ("GPU0",), "96.00.af.00.02")
    ]


@pytest.mark.parametrize(
    "text, match",
    [
        ("BIOS = 3", "must be a version string"),
        ('[BIOS]\nversion = "1"\nimage = "ftp://x"', "http"),
        ("", "lists no components"),
        ("BIOS = ", "not valid TOML"),
    ],
)
def test_bad_baselines_are_one_line_errors(tmp_path, text, match):
    f = tmp_path / "b.toml"
    f.write_text(text)
    with pytest.raises(UsageError, match=match) as err:
        load_baseline(str(f))
    assert "\n" not in str(err.value)


def test_image_mode_params_and_version_from_name():
    assert version_from_image("http://h/x/bios-2.4.0.bin") == "2.4.0"
    assert version_from_image("http://h/x/firmware.bin") is None
    with pytest.raises(ValueError, match="either --baseline"):
        FirmwareUpdateParams(nodes="n1")
    with pytest.raises(ValueError, match="needs --component"):
        FirmwareUpdateParams(nodes="n1", image="http://h/bios-2.4.0.bin")
