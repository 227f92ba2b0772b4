"""Adding a backend is one registration: a port, a section model, a factory, a simulator. A site's
own backend (here a ticket system) then loads from its own [section], is built by the same factory
loop as Slurm, is simulated in the demo, and is looked up by its port, typed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

import pytest

from dcops.actions.backends.bundle import Backends
from dcops.actions.backends.factory import build_backends
from dcops.actions.backends.ports import KubePort, RedfishPort, SlurmPort
from dcops.actions.backends.registry import BackendSpec, register_backend, registered, unregister_backend
from dcops.actions.config import parse_config
from dcops.actions.config._base import Section
from dcops.actions.errors import BackendUnavailable, ConfigError
from dcops.actions.inventory import StaticInventory
from dcops.actions.sim import SimCluster


@runtime_checkable
class TicketPort(Protocol):
    async def open_ticket(self, node: str, text: str) -> str: ...


class TicketSection(Section):
    url: str
    queue: str = "ops"


class Tickets:
    def __init__(self, url: str, queue: str) -> None:
        self.url, self.queue, self.opened = url, queue, []
        self.closed = 0

    async def open_ticket(self, node: str, text: str) -> str:
        self.opened.append((node, text))
        return f"{self.queue}-{len(self.opened)}"

    async def aclose(self) -> None:
        self.closed += 1


@pytest.fixture
def tickets() -> Iterator[BackendSpec[TicketPort]]:
    spec = register_backend(
        BackendSpec(
            name="tickets",
            port=TicketPort,
            label="Tickets",
            section=TicketSection,
            build=lambda section, config: Tickets(section.url, section.queue),
            simulate=lambda sim: Tickets("sim://", "demo"),
        )
    )
    yield spec
    unregister_backend(TicketPort)


async def test_a_site_backend_is_one_registration(tickets) -> None:
    cfg = parse_config({"tickets": {"url": "https://rt.example", "queue": "gpu"}})
    backends = build_backends(cfg)
    adapter = backends.get(TicketPort)
    assert isinstance(adapter, Tickets) and (adapter.url, adapter.queue) == ("https://rt.example", "gpu")
    assert await adapter.open_ticket("gpu001", "xid 79") == "gpu-1"
    assert not backends.has(SlurmPort)  # nothing else was configured
    await backends.aclose()
    assert adapter.closed == 1
    demo = SimCluster(nodes=4, time_scale=1000.0).backends()
    assert demo.get(TicketPort).url == "sim://"  # the demo simulates it too


def test_its_section_is_validated_by_its_model(tickets) -> None:
    with pytest.raises(ConfigError, match=r"tickets\.url: Field required"):
        parse_config({"tickets": {"queue": "gpu"}})
    with pytest.raises(ConfigError, match=r"tickets\.qeue: Extra inputs are not permitted"):
        parse_config({"tickets": {"url": "x", "qeue": "gpu"}})
    assert parse_config({}).backend_section("tickets") is None
    with pytest.raises(BackendUnavailable, match=r"no tickets backend configured \(add a \[tickets\] section"):
        build_backends(parse_config({})).get(TicketPort)


def test_an_unregistered_section_is_still_a_typo() -> None:
    with pytest.raises(ConfigError, match="tickets: Extra inputs are not permitted"):
        parse_config({"tickets": {"url": "x"}})


def test_a_second_registration_of_a_port_or_name_is_refused(tickets) -> None:
    with pytest.raises(ValueError, match="already registered: 'tickets'"):
        register_backend(BackendSpec(name="tickets2", port=TicketPort, label="T", build=lambda s, c: Tickets("", "")))
    with pytest.raises(ValueError, match="already registered: 'slurm'"):
        register_backend(
            BackendSpec(name="slurm", port=type("OtherPort", (), {}), label="T", build=lambda s, c: Tickets("", ""))
        )
    with pytest.raises(ValueError, match="plain identifier"):
        register_backend(BackendSpec(name="my-tickets", port=type("P", (), {}), label="T", build=lambda s, c: None))


def test_builtins_register_every_port_with_its_config_field() -> None:
    by_name = {s.name: s for s in registered()}
    assert set(by_name) >= {"slurm", "kube", "redfish", "ssh", "prometheus", "ansible", "alertmanager"}
    from dcops.actions.config.model import DcopsConfig

    for name, spec in by_name.items():  # the section model is the config field's type
        field = DcopsConfig.model_fields.get(name)
        assert (
            field is not None and spec.section is not None and spec.section in getattr(field.annotation, "__args__", ())
        ), name
        assert spec.simulate is not None, f"{name}: the demo must be able to run every action"


def test_lookups_are_by_port_and_say_what_is_missing() -> None:
    b = Backends(StaticInventory([]))
    with pytest.raises(BackendUnavailable) as exc:
        b.get(RedfishPort)
    assert str(exc.value) == (
        "this cluster has no redfish backend configured (add a [redfish] section to the config file)"
    )
    assert exc.value.exit_code == 6
    assert b.find(KubePort) is None and not b.has(KubePort)
    with pytest.raises(TypeError, match="pass KubePort, not 'kube'"):
        b.find("kube")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a registered backend port"):
        b.has(TicketPort)  # not registered: a bug, not "absent"
    with pytest.raises(TypeError, match="no registered backend"):
        Backends(StaticInventory([]), slurmm=object())
    with pytest.raises(AttributeError):
        b.require  # noqa: B018 - the string lookup is gone


def test_without_leaves_the_original_alone() -> None:
    full = SimCluster(nodes=4, time_scale=1000.0).backends()
    bare = full.without(SlurmPort, KubePort)
    assert not bare.has(SlurmPort) and not bare.has(KubePort) and bare.has(RedfishPort)
    assert full.has(SlurmPort) and full.get(KubePort) is full.kube
    assert bare.extras["sim"] is full.extras["sim"] and bare.inventory is full.inventory


def test_the_action_layer_and_front_ends_never_look_a_backend_up_by_name() -> None:
    """``backends.slurm`` exists for tests and the REPL; code asks by port (typed, and a typo is an
    error instead of None). Reads the source of every package that ships."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    names = "|".join(s.name for s in registered())
    by_name = re.compile(rf"\bbackends\.({names})\b|\bb\.({names})\b|backends\.(require|has)\(\s*[\"']")
    found = [
        f"{path.relative_to(root)}:{n}: {line.strip()}"
        for pkg in ("actions", "console", "bots", "dcops")
        for path in sorted((root / pkg).rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if by_name.search(line) and "``" not in line
    ]
    assert found == []
