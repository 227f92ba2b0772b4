"""The built-in backends, one registration each (see :mod:`dcops.actions.backends.registry`).

Each factory imports its adapter lazily: a site without Kubernetes never imports the kubernetes
client, and a Slurm drain imports no HTTP client it does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config.alerts import AlertmanagerSection
from ..config.ansible import AnsibleSection
from ..config.kube import KubeSection
from ..config.prometheus import PrometheusSection
from ..config.redfish import RedfishSection
from ..config.slurm import SlurmSection
from ..config.ssh import SshSection
from .ports import AlertmanagerPort, AnsiblePort, KubePort, PrometheusPort, RedfishPort, SlurmPort, SshPort
from .registry import BackendSpec, register_backend

if TYPE_CHECKING:
    from ..config.model import DcopsConfig
    from ..sim import SimCluster


# ---------------------------------------------------------------- Slurm (mode = cli | rest | pyslurm)
def _slurm(section: SlurmSection, config: DcopsConfig) -> SlurmPort:
    from .slurm_factory import build_slurm

    return build_slurm(config)


def _sim_slurm(sim: SimCluster) -> SlurmPort:
    from ..sim.slurm import SimSlurm

    return SimSlurm(sim)


def _slurm_inventory(adapter: SlurmPort, section: SlurmSection, optional: bool) -> Any:
    from ..inventory import SlurmInventory

    return SlurmInventory(adapter)


register_backend(
    BackendSpec(
        name="slurm",
        port=SlurmPort,
        label="Slurm",
        section=SlurmSection,
        build=_slurm,
        simulate=_sim_slurm,
        inventory=_slurm_inventory,
    )
)


# ---------------------------------------------------------------- Kubernetes
def _kube(section: KubeSection, config: DcopsConfig) -> KubePort:
    from .kube import KubeAdapter

    return KubeAdapter(section)


def _sim_kube(sim: SimCluster) -> KubePort:
    from ..sim.kube import SimKube

    return SimKube(sim)


def _kube_inventory(adapter: KubePort, section: KubeSection, optional: bool) -> Any:
    from .kube_inventory import KubeInventory

    return KubeInventory(adapter, section, optional=optional)


register_backend(
    BackendSpec(
        name="kube",
        port=KubePort,
        label="Kubernetes",
        section=KubeSection,
        build=_kube,
        simulate=_sim_kube,
        inventory=_kube_inventory,
    )
)


# ---------------------------------------------------------------- Redfish BMCs
def _redfish(section: RedfishSection, config: DcopsConfig) -> RedfishPort:
    from ..inventory import StaticInventory
    from .redfish import build_redfish

    return build_redfish(section, StaticInventory(config.nodes))  # [[nodes]] bmc templates


def _sim_redfish(sim: SimCluster) -> RedfishPort:
    from ..sim.redfish import SimRedfish

    return SimRedfish(sim)


register_backend(
    BackendSpec(
        name="redfish", port=RedfishPort, label="Redfish", section=RedfishSection, build=_redfish, simulate=_sim_redfish
    )
)


# ---------------------------------------------------------------- SSH to the nodes
def _ssh(section: SshSection, config: DcopsConfig) -> SshPort:
    from .slurm_factory import build_ssh

    return build_ssh(config)


def _sim_ssh(sim: SimCluster) -> SshPort:
    from ..sim.ssh import SimSsh

    return SimSsh(sim)


register_backend(BackendSpec(name="ssh", port=SshPort, label="SSH", section=SshSection, build=_ssh, simulate=_sim_ssh))


# ---------------------------------------------------------------- Prometheus (DCGM + node_exporter)
def _prometheus(section: PrometheusSection, config: DcopsConfig) -> PrometheusPort:
    from .prometheus import PrometheusAdapter

    return PrometheusAdapter(section.url, timeout=section.timeout, max_concurrency=section.max_concurrency)


def _sim_prometheus(sim: SimCluster) -> PrometheusPort:
    from ..sim.prometheus import SimPrometheus

    return SimPrometheus(sim)


register_backend(
    BackendSpec(
        name="prometheus",
        port=PrometheusPort,
        label="Prometheus",
        section=PrometheusSection,
        build=_prometheus,
        simulate=_sim_prometheus,
    )
)


# ---------------------------------------------------------------- Ansible (ansible-runner)
def _ansible(section: AnsibleSection, config: DcopsConfig) -> AnsiblePort:
    from .playbook_runner import AnsibleRunnerAdapter
    from .slurm_factory import _static_addresses

    return AnsibleRunnerAdapter(section, config.ssh or SshSection(), _static_addresses(config))


def _sim_ansible(sim: SimCluster) -> AnsiblePort:
    from ..sim.ansible import SimAnsible

    return SimAnsible(sim)


register_backend(
    BackendSpec(
        name="ansible", port=AnsiblePort, label="Ansible", section=AnsibleSection, build=_ansible, simulate=_sim_ansible
    )
)


# ---------------------------------------------------------------- Alertmanager (silences)
def _alertmanager(section: AlertmanagerSection, config: DcopsConfig) -> AlertmanagerPort:
    from .alertmanager import build_alertmanager

    return build_alertmanager(section)


def _sim_alertmanager(sim: SimCluster) -> AlertmanagerPort:
    from ..sim.alertmanager import SimAlertmanager

    am: AlertmanagerPort = sim.cache.setdefault("alertmanager", SimAlertmanager())  # one per cluster
    return am


register_backend(
    BackendSpec(
        name="alertmanager",
        port=AlertmanagerPort,
        label="Alertmanager",
        section=AlertmanagerSection,
        build=_alertmanager,
        simulate=_sim_alertmanager,
    )
)
