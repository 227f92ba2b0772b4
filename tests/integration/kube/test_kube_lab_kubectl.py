"""The lab API server's fidelity, proven by the real kubectl: cordon, drain --ignore-daemonsets
(with PDB-refused evictions retried), uncordon and get jobs behave as against a real cluster."""

from __future__ import annotations

from kubelab import Kubectl, node_obj, pods_by_node

from tests.lab.kubeapi import scenario as sc


def test_cordon_and_uncordon(kubectl: Kubectl) -> None:
    assert "node/gpu002 cordoned" in kubectl("cordon", "gpu002").stdout
    assert node_obj(kubectl.info, "gpu002")["spec"]["unschedulable"] is True
    table = kubectl("get", "node", "gpu002").stdout
    assert "Ready,SchedulingDisabled" in table
    assert "already cordoned" in kubectl("cordon", "gpu002").stdout
    assert "node/gpu002 uncordoned" in kubectl("uncordon", "gpu002").stdout
    assert not node_obj(kubectl.info, "gpu002")["spec"].get("unschedulable")
    assert "SchedulingDisabled" not in kubectl("get", "node", "gpu002").stdout


def test_drain_ignores_daemonsets_and_evicts_the_rest(kubectl: Kubectl) -> None:
    before = pods_by_node(kubectl.info)
    assert "default/inference-7d9f" in before["gpu002"]
    out = kubectl("drain", "gpu002", "--ignore-daemonsets", "--timeout=30s")
    assert "evicting pod default/inference-7d9f-b1" in out.stderr + out.stdout
    assert "node/gpu002 drained" in out.stdout
    after = pods_by_node(kubectl.info)
    # only DaemonSet pods remain on the node; the ReplicaSet's replacement runs elsewhere
    assert after["gpu002"] == sorted(p for p in before["gpu002"] if p != "default/inference-7d9f")
    assert sum(p == "default/inference-7d9f" for pods in after.values() for p in pods) == 3
    assert node_obj(kubectl.info, "gpu002")["spec"]["unschedulable"] is True


def test_drain_refuses_unmanaged_pods_without_force(kubectl: Kubectl) -> None:
    proc = kubectl("drain", "gpu001", "--ignore-daemonsets", check=False)
    assert proc.returncode != 0
    assert "default/debug-shell" in proc.stderr and "--force" in proc.stderr


def test_drain_blocked_by_pdb_times_out_and_leaves_protected_pod(kubectl: Kubectl) -> None:
    ckpt = {"app": "ckpt"}
    kubectl.info.reset(
        [
            sc.node("gpu001"),
            sc.node("gpu002"),
            sc.replicaset("ml", "ckpt", 1, ckpt),
            sc.pdb("ml", "ckpt-pdb", ckpt, min_available=1),
            sc.pod("ml", "ckpt-x", "gpu001", labels=ckpt, owner=sc.owner_ref("ReplicaSet", "ml", "ckpt")),
        ],
        pod_start_delay=0.1,
        kubelet_stop_seconds=0.1,
    )
    proc = kubectl("drain", "gpu001", "--ignore-daemonsets", "--timeout=2s", check=False)
    assert proc.returncode != 0
    assert "disruption budget" in proc.stderr and "global timeout reached: 2s" in proc.stderr
    assert pods_by_node(kubectl.info)["gpu001"] == ["ml/ckpt"]
    assert node_obj(kubectl.info, "gpu001")["spec"]["unschedulable"] is True
    pdb = kubectl.json("get", "pdb", "-n", "ml", "ckpt-pdb")
    assert pdb["status"]["disruptionsAllowed"] == 0 and pdb["status"]["currentHealthy"] == 1


def test_get_jobs_table_and_json(kubectl: Kubectl) -> None:
    table = kubectl("get", "jobs", "-n", "ml").stdout.splitlines()
    assert table[0].split()[:3] == ["NAME", "STATUS", "COMPLETIONS"]
    rows = {line.split()[0]: line.split()[1] for line in table[1:]}
    assert rows == {"eval-done": "Complete", "finetune-bad": "Failed", "train-llm": "Running"}
    jobs = kubectl.json("get", "jobs", "-A")
    assert {j["metadata"]["name"] for j in jobs["items"]} == set(rows)
    running = next(j for j in jobs["items"] if j["metadata"]["name"] == "train-llm")
    assert running["status"]["active"] == 1
    assert (
        running["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] == running["metadata"]["uid"]
    )


def test_unauthenticated_requests_are_refused(kubectl: Kubectl) -> None:
    import ssl
    import urllib.error
    import urllib.request

    ctx = ssl.create_default_context(cafile=str(kubectl.info.ca_file))
    try:
        urllib.request.urlopen(kubectl.info.url + "/api/v1/nodes", timeout=5, context=ctx)
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
    else:
        raise AssertionError("the lab API server served nodes without a token")


def test_server_side_dry_run_drain_changes_nothing(kubectl: Kubectl) -> None:
    before = pods_by_node(kubectl.info)
    out = kubectl("drain", "gpu002", "--ignore-daemonsets", "--dry-run=server", "--timeout=10s")
    assert "node/gpu002 cordoned (server dry run)" in out.stdout
    assert "evicting pod default/inference-7d9f-b1 (server dry run)" in out.stdout
    assert "node/gpu002 drained (server dry run)" in out.stdout
    assert pods_by_node(kubectl.info) == before
    assert not node_obj(kubectl.info, "gpu002")["spec"].get("unschedulable")
