"""Slurm output parsing: sinfo -O text, squeue text, and the v0.0.38 JSON of squeue/slurmrestd."""

from __future__ import annotations

from datetime import UTC, datetime

from dcops.actions.backends.slurm_parse import (
    SINFO_FORMAT,
    format_minutes,
    gpu_count,
    job_from_json,
    natural_key,
    node_from_json,
    parse_node_jobs,
    parse_show_node,
    parse_sinfo,
)

SINFO = """\
gpu001|idle|gpu*|gpu:h100:8|gpu:h100:0(IDX:N/A)|0/16/0/16|64000|0|h100,ib|none
gpu002|mixed+drain|gpu*|gpu:h100:8(S:0-1)|gpu:h100:4(IDX:0-3)|4/12/0/16|64000|32000|h100,ib|xid 79 | State=DOWN: a|b [unix:x via cli]
gpu002|mixed+drain|debug|gpu:h100:8(S:0-1)|gpu:h100:4(IDX:0-3)|4/12/0/16|64000|32000|h100,ib|xid 79 | State=DOWN: a|b [unix:x via cli]
gpu003|down+not_responding|debug|(null)|(null)|0/0/16/16|64000|0|(null)|Not responding
gpu004|idle|gpu*|gpu:h100:8|gpu:h100:0(IDX:N/A)|0/16/0/16|64000|100|h100,ib|none
"""


def test_the_format_puts_the_reason_last_and_has_no_padding() -> None:
    assert SINFO_FORMAT.endswith(",Reason:") and "NodeList:|" in SINFO_FORMAT


def test_sinfo_text_becomes_nodes_with_flags_partitions_and_gpus() -> None:
    nodes = parse_sinfo(SINFO)
    assert list(nodes) == ["gpu001", "gpu002", "gpu003", "gpu004"]
    one, two, three, four = nodes.values()
    assert (one.state, one.flags, one.reason, one.partitions, one.gpus, one.gpus_used, one.cpus, one.cpus_alloc) == (
        "idle",
        (),
        "",
        ("gpu",),
        8,
        0,
        16,
        0,
    )
    assert (two.state, two.flags, two.display_state, two.partitions) == (
        "mixed",
        ("DRAIN",),
        "draining",
        ("gpu", "debug"),
    )
    assert two.reason == "xid 79 | State=DOWN: a|b [unix:x via cli]"
    assert (two.gpus, two.gpus_used, two.cpus_alloc, two.features) == (8, 4, 4, ("h100", "ib"))
    assert (three.state, three.flags, three.gres, three.gpus, three.features, three.unavailable) == (
        "down",
        ("NOT_RESPONDING",),
        "",
        0,
        (),
        True,
    )
    # an idle node holding memory: a suspended job's (Slurm frees its CPUs and says IDLE)
    assert (four.state, four.cpus_alloc, four.memory_alloc_mb, two.memory_alloc_mb) == ("idle", 0, 100, 32000)
    assert [n.name for n in nodes.values() if n.may_have_jobs] == ["gpu002", "gpu004"]


def test_gpu_counts_in_gres_strings() -> None:
    assert gpu_count("gpu:h100:8(S:0-1),shard:h100:32") == 8
    assert gpu_count("gpu:a100:4,gpu:h100:2") == 6
    assert gpu_count("gpu:3") == 3
    assert gpu_count("") == 0 and gpu_count("shard:8") == 0


def test_jobs_on_nodes_from_squeue_text() -> None:
    text = "12|gpu[001-002]\n13_4|gpu002\n14|(Resources)\n\n"
    assert parse_node_jobs(text) == {"gpu001": ["12"], "gpu002": ["12", "13_4"]}


def test_job_json_array_task_times_and_gpus() -> None:
    job = job_from_json(
        {
            "job_id": 41,
            "array_job_id": 40,
            "array_task_id": 3,
            "name": "train",
            "user_name": "alice",
            "partition": "gpu",
            "job_state": "RUNNING",
            "nodes": "gpu[001-002]",
            "node_count": 2,
            "submit_time": 1795929844,
            "start_time": 0,
            "time_limit": 1500,
            "state_reason": "None",
            "restart_cnt": 2,
            "exit_code": 0,
            "tres_alloc_str": "cpu=2,mem=2000M,node=2,gres/gpu=16",
        }
    )
    assert (job.job_id, job.user, job.nodes, job.gpus, job.restarts, job.time_limit) == (
        "40_3",
        "alice",
        ("gpu001", "gpu002"),
        16,
        2,
        "1-01:00:00",
    )
    assert job.submit_time == datetime.fromtimestamp(1795929844, tz=UTC) and job.start_time is None


def test_pending_job_json_has_no_nodes_and_gpus_per_node_multiply() -> None:
    job = job_from_json(
        {
            "job_id": 7,
            "job_state": "PENDING",
            "nodes": "",
            "node_count": 4,
            "tres_per_node": "gres:gpu:8",
            "time_limit": None,
            "state_reason": "Resources",
        }
    )
    assert (job.nodes, job.gpus, job.time_limit, job.reason) == ((), 32, "UNLIMITED", "Resources")


def test_node_json_matches_the_text_parser() -> None:
    node = node_from_json(
        {
            "name": "gpu002",
            "state": "mixed",
            "state_flags": ["DRAIN"],
            "reason": "x",
            "partitions": ["gpu"],
            "gres": "gpu:h100:8",
            "gres_used": "gpu:h100:4(IDX:0-3)",
            "cpus": 16,
            "alloc_cpus": 4,
            "real_memory": 64000,
            "features": "h100,ib",
        },
        ["12"],
    )
    assert (node.state, node.flags, node.gpus, node.gpus_used, node.features, node.jobs) == (
        "mixed",
        ("DRAIN",),
        8,
        4,
        ("h100", "ib"),
        ("12",),
    )


def test_format_minutes() -> None:
    assert format_minutes(30) == "00:30:00"
    assert format_minutes(4294967295) == "UNLIMITED"
    assert format_minutes({"set": True, "infinite": False, "number": 90}) == "01:30:00"


SHOW_NODE = (
    "scontrol: show node gpu[001-003],nosuch\n"
    "NodeName=gpu001 Arch=x86_64 CoresPerSocket=1  CPUAlloc=4 CPUEfctv=16 CPUTot=16 CPULoad=2.70 "
    "AvailableFeatures=h100,ib ActiveFeatures=h100,ib Gres=gpu:h100:8(S:0-1) GresDrain=N/A GresUsed=gpu:h100:4(IDX:0-3) "
    "NodeAddr=127.0.0.1 NodeHostName=vm Version=22.05.8 OS=Linux 6.1.0 #1 SMP PREEMPT_DYNAMIC @0  RealMemory=64000 "
    "AllocMem=32000 FreeMem=9852 State=MIXED+DRAIN ThreadsPerCore=1 Partitions=gpu,debug  CfgTRES=cpu=16 "
    "AllocTRES=cpu=4 Reason=xid 79 | State=DOWN Reason=x [unix:x via cli] [root@2026-01-01T00:00:00] "
    "[root@2026-12-04T14:55:38]\n"
    "NodeName=gpu002 CPUAlloc=0 CPUTot=16 AvailableFeatures=(null) Gres=(null) GresUsed=(null) RealMemory=64000 "
    "AllocMem=0 State=DOWN+NOT_RESPONDING Partitions=debug  ExtSensorsTemp=n/s Reason=Not responding "
    "[slurm@2026-12-04T10:00:00]\n"
    "NodeName=gpu003 CPUAlloc=0 CPUTot=16 Gres=gpu:h100:8 RealMemory=64000 AllocMem=100 State=IDLE Partitions=gpu  "
    "ExtSensorsTemp=n/s\n"
    "Node nosuch not found\n"
)


def test_scontrol_show_node_lines_become_the_same_records_as_sinfo() -> None:
    nodes = parse_show_node(SHOW_NODE)
    assert list(nodes) == ["gpu001", "gpu002", "gpu003"]  # the prompt echo and "not found" are no nodes
    one, two, three = nodes.values()
    assert one.reason == "xid 79 | State=DOWN Reason=x [unix:x via cli] [root@2026-01-01T00:00:00]"
    assert (one.state, one.flags, one.display_state, one.partitions) == (
        "mixed",
        ("DRAIN",),
        "draining",
        ("gpu", "debug"),
    )
    assert (one.gpus, one.gpus_used, one.cpus, one.cpus_alloc, one.memory_mb, one.memory_alloc_mb) == (
        8,
        4,
        16,
        4,
        64000,
        32000,
    )
    assert one.features == ("h100", "ib") and one.gres == "gpu:h100:8(S:0-1)"
    assert (two.state, two.flags, two.reason, two.gres, two.features, two.unavailable) == (
        "down",
        ("NOT_RESPONDING",),
        "Not responding",
        "",
        (),
        True,
    )
    assert (three.reason, three.state, three.may_have_jobs) == ("", "idle", True)  # memory held: a suspended job


def test_natural_order_is_sinfos() -> None:
    names = ["gpu010", "cn011", "gpu002", "cn9", "cn10", "dgx-h100-01"]
    assert sorted(names, key=natural_key) == ["cn9", "cn10", "cn011", "dgx-h100-01", "gpu002", "gpu010"]
