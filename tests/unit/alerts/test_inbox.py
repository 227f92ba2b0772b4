"""The alert inbox: repeats are not re-audited, every new state is, unknown nodes are kept and
shown, a malformed delivery is one clear error (audited), and auto-remediation stays off unless
the policy names the alert — and even then never runs a destructive action."""

from __future__ import annotations

import pytest

from dcops.actions.alerts import AlertInbox, PayloadError
from dcops.actions.engine import Engine
from dcops.actions.events import RunFinished
from dcops.actions.rbac import Policy
from dcops.actions.store.base import AuditQuery

from .conftest import alert, payload


async def alert_records(eng: Engine) -> list:
    return await eng.store.query(AuditQuery(action="alert", newest_first=False))


async def test_repeats_are_deduplicated_and_each_new_state_audited(inbox: AlertInbox, eng: Engine) -> None:
    node = eng.node_names()[2]
    first = await inbox.receive(payload(alert(node=node, gpu="3")))
    again = await inbox.receive(payload(alert(node=node, gpu="3")))  # Alertmanager's repeat
    assert (len(first.new), first.repeats) == (1, 0)
    assert (len(again.new), again.repeats) == (0, 1)
    resolved = await inbox.receive(payload(alert(node=node, gpu="3", status="resolved"), status="resolved"))
    assert len(resolved.new) == 1
    recs = await alert_records(eng)
    assert [(r.event, r.params["status"], r.targets) for r in recs] == [
        ("received", "firing", [node]),
        ("received", "resolved", [node]),
    ]
    assert recs[0].principal == "alertmanager:dcops" and recs[0].channel == "webhook"
    assert "a1b2c3d4e5f60718" in recs[0].detail
    assert inbox.alerts() == [] and len(inbox.alerts(include_resolved=True)) == 1


async def test_a_restarted_inbox_knows_what_it_already_audited(inbox: AlertInbox, eng: Engine) -> None:
    await inbox.receive(payload(alert(node=eng.node_names()[0])))
    fresh = AlertInbox(eng)
    assert await fresh.load() == 1
    report = await fresh.receive(payload(alert(node=eng.node_names()[0])))
    assert report.repeats == 1 and len(await alert_records(eng)) == 1


async def test_an_alert_for_an_unknown_node_is_kept_and_flagged(inbox: AlertInbox, eng: Engine) -> None:
    report = await inbox.receive(payload(alert(node="ghost042", fp="ffff0000")))
    assert report.new[0].known_node is False and "unknown node(s): ghost042" in report.line
    assert inbox.alerts()[0].node == "ghost042"
    assert "not a node dcops knows" in (await alert_records(eng))[0].detail
    run = await eng.submit(__import__("dcops.actions").Request(principal="unix:root", channel="cli", action="alerts"))
    await run.wait()
    assert run.result.table.rows[0][3] == "ghost042 (unknown)"


@pytest.mark.parametrize(
    "body, words",
    [
        (b"{not json", "body is not JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"version": "4", "status": "firing", "alerts": [{"status": "firing"}]}', "alerts.0.labels: Field required"),
        (b'{"version": "3", "status": "firing", "alerts": []}', "unsupported Alertmanager webhook version '3'"),
        (
            b'{"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"node": "x"}, '
            b'"startsAt": "t", "fingerprint": "ab"}]}',
            "has no alertname",
        ),
        (
            b'{"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"alertname": "x"}, '
            b'"startsAt": "t", "fingerprint": "a b"}]}',
            "fingerprint",
        ),
    ],
)
async def test_a_malformed_payload_is_one_clear_line_and_audited(
    inbox: AlertInbox, eng: Engine, body: bytes, words: str
) -> None:
    with pytest.raises(PayloadError) as err:
        await inbox.receive(body, sender="127.0.0.1")
    assert words in str(err.value) and "\n" not in str(err.value)
    recs = await alert_records(eng)
    assert [r.event for r in recs] == ["received", "invalid"] and words in recs[1].error
    assert recs[0].principal == "webhook:127.0.0.1"
    assert inbox.alerts(include_resolved=True) == []


async def test_announced_to_listeners_with_the_playbook(inbox: AlertInbox, eng: Engine) -> None:
    seen = []
    inbox.subscribe(lambda a, pb: seen.append((a.name, pb.primary.action if pb else None)))

    async def broken(a, pb):  # noqa: ANN001, ANN202 - one failing front end must not stop the others
        raise RuntimeError("boom")

    inbox.subscribe(broken)
    await inbox.receive(payload(alert(node=eng.node_names()[0], gpu="1")))
    assert seen == [("GpuXidFellOffBus", "drain")]


async def test_no_auto_remediation_without_a_policy_rule(inbox: AlertInbox, eng: Engine) -> None:
    report = await inbox.receive(payload(alert(node=eng.node_names()[0], gpu="1")))
    assert report.auto_runs == []
    assert not [r for r in await eng.store.query(AuditQuery(event="started")) if r.action == "drain"]


AUTO_POLICY = """
[roles.admin]
actions = ["*"]
[roles.auto-drain]
actions = ["drain", "requeue", "power"]
[[bindings]]
principals = ["unix:*"]
roles = ["admin"]
[[bindings]]
principals = ["alert:GpuXidFellOffBus"]
roles = ["auto-drain"]
"""


async def test_a_policy_rule_lets_an_alert_drain_on_its_own_but_never_power_cycle(eng: Engine) -> None:
    eng.policy = Policy.from_toml(AUTO_POLICY)
    inbox = AlertInbox(eng)
    node = next(n.name for n in await eng.backends.slurm.nodes() if not n.unavailable)
    report = await inbox.receive(payload(alert(node=node, gpu="1", fp="0a0b")))
    assert len(report.auto_runs) == 1  # drain ran; power (destructive) needs a person's confirmation
    run = eng.get_run(report.auto_runs[0])
    finished: RunFinished = await run.wait()
    assert finished.outcome == "ok" and run.action == "drain" and run.principal == "alert:GpuXidFellOffBus"
    started = (await eng.store.query(AuditQuery(run_id=run.run_id, event="started")))[0]
    assert started.channel == "auto" and "from alert 0a0b" in started.detail
    assert "alert GpuXidFellOffBus GPU 1" in (await eng.backends.slurm.nodes([node]))[0].reason
    # another alert name is not covered by the rule
    other = await inbox.receive(payload(alert(name="GpuXidMemory", node=node, gpu="1", fp="0c0d")))
    assert other.auto_runs == []


async def test_a_suggested_action_carries_the_fingerprint_into_the_audit(inbox: AlertInbox, eng: Engine) -> None:
    node = next(n.name for n in await eng.backends.slurm.nodes() if not n.unavailable)
    await inbox.receive(payload(alert(node=node, gpu="2", fp="feed01")))
    a = inbox.get("feed01")
    req = inbox.request_for(a, inbox.playbook(a).primary, principal="unix:root", channel="tui")
    run = await eng.submit(req)
    assert (await run.wait()).outcome == "ok"
    recs = await eng.store.query(AuditQuery(run_id=run.run_id, newest_first=False))
    assert recs[0].detail == "from alert feed01" and recs[1].detail.endswith("; from alert feed01")


async def test_control_characters_in_labels_are_neutralised_not_refused(inbox: AlertInbox, eng: Engine) -> None:
    a = alert(node=eng.node_names()[0], fp="c7c7")
    a["annotations"]["summary"] = "GPU lost\x1b[2J\x1b[H; description\nsecond line"
    a["labels"]["gpu"] = "3\x07"
    await inbox.receive(payload(a))
    got = inbox.get("c7c7")
    assert got.summary == "GPU lost [2J [H; description second line" and got.labels["gpu"] == "3 "
    rec = (await alert_records(eng))[0]
    assert "\x1b" not in rec.detail and "\n" not in rec.detail
