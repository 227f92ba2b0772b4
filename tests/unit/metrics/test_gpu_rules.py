from __future__ import annotations

from dcops.actions.metrics.gpu import GpuHealth, gpu_queries, judge_gpu, thresholds
from dcops.actions.ops.metrics import GpuRow


def test_config_overrides_only_known_thresholds():
    t = thresholds({"gpu_temp_c": 80, "not_a_threshold": 1})
    assert t["gpu_temp_c"] == 80 and t["gpu_power_w"] == 700 and "not_a_threshold" not in t


def test_flags_past_thresholds():
    g = GpuHealth(
        "gpu001",
        3,
        {
            "util": 100,
            "temp": 82,
            "power": 710,
            "fb_used": 81000,
            "fb_free": 559,
            "xid": 79,
            "ecc_dbe": 2,
            "nvlink_1h": 150,
        },
    )
    judge_gpu(g, thresholds({"gpu_temp_c": 80}))
    assert g.flags == [
        "temp 82 C >= 80",
        "power 710 W >= 700",
        "memory 99% used",
        "XID 79: GPU fell off the bus",
        "2 double-bit ECC errors",
        "NVLink CRC errors +150 in 1 h",
    ]
    healthy = GpuHealth(
        "gpu001",
        0,
        {
            "util": 90,
            "temp": 60,
            "power": 500,
            "fb_used": 60000,
            "fb_free": 21559,
            "xid": 0,
            "ecc_dbe": 0,
            "nvlink_1h": 0,
        },
    )
    judge_gpu(healthy, thresholds(None))
    assert healthy.flags == [] and GpuRow.of(healthy).flags_shown == "ok"
    row = GpuRow.of(healthy)
    assert (row.memory, row.last_xid, row.temp_shown) == ("58.6/80 GiB", "-", "60 C")


def test_a_gpu_without_telemetry_is_flagged():
    g = GpuHealth("gpu017", 3, {"xid": 79})
    judge_gpu(g, thresholds(None))
    assert g.flags[0].startswith("no telemetry")


def test_queries_cover_every_field_for_all_nodes_at_once():
    q = gpu_queries(["gpu001", "gpu002"], "Hostname")
    assert q["temp"] == 'DCGM_FI_DEV_GPU_TEMP{Hostname=~"(gpu001|gpu002)"}'
    assert q["nvlink_1h"].startswith("increase(DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL{") and len(q) == 8
