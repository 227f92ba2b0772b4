"""Build a cluster's :class:`Backends` from its config: the simulator for ``--demo``, else one
adapter per configured section. Adapters are imported lazily so a site without Kubernetes never
imports the kubernetes client."""

from __future__ import annotations

from ..config.model import DcopsConfig
from ..errors import ConfigError
from ..inventory import MergedInventory, SlurmInventory, StaticInventory
from .bundle import Backends


def build_backends(config: DcopsConfig) -> Backends:
    if config.cluster.demo:
        from ..sim import SimCluster

        return SimCluster(nodes=config.cluster.demo_nodes, time_scale=config.cluster.demo_time_scale).backends()
    backends = Backends(inventory=StaticInventory(config.nodes))
    if config.slurm is not None:
        backends.slurm = _build_slurm(config)
    if config.ssh is not None:
        backends.ssh = _build_ssh(config)
    if config.redfish is not None:
        backends.redfish = _build_redfish(config)
    if config.prometheus is not None:
        backends.prometheus = _build_prometheus(config)
    if config.kube is not None:
        backends.kube = _build_kube(config)
    if config.ansible is not None:
        backends.ansible = _build_ansible(config)
    if config.alertmanager is not None:
        from .alertmanager import build_alertmanager

        backends.alertmanager = build_alertmanager(config.alertmanager)
    sources = [backends.inventory]
    if backends.slurm is not None:
        sources.append(SlurmInventory(backends.slurm))
    if backends.kube is not None and config.kube is not None:
        from .kube_inventory import KubeInventory

        sources.append(KubeInventory(backends.kube, config.kube, optional=len(sources) > 1 or bool(config.nodes)))
    if len(sources) > 1:
        backends.inventory = MergedInventory(sources)
    return backends


def _missing(section: str) -> ConfigError:
    return ConfigError(f"[{section}] is configured but its adapter is not available in this build")


def _build_slurm(config: DcopsConfig):  # noqa: ANN202 - returns a SlurmPort
    from .slurm_factory import build_slurm

    return build_slurm(config)


def _build_ssh(config: DcopsConfig):  # noqa: ANN202
    from .slurm_factory import build_ssh

    return build_ssh(config)


def _build_redfish(config: DcopsConfig):  # noqa: ANN202
    from .redfish import build_redfish

    assert config.redfish is not None            # called only when [redfish] is configured
    return build_redfish(config.redfish, StaticInventory(config.nodes))   # [[nodes]] bmc templates


def _build_prometheus(config: DcopsConfig):  # noqa: ANN202
    from .prometheus import PrometheusAdapter

    assert config.prometheus is not None         # called only when [prometheus] is configured
    return PrometheusAdapter(config.prometheus.url, timeout=config.prometheus.timeout,
                             max_concurrency=config.prometheus.max_concurrency)


def _build_kube(config: DcopsConfig):  # noqa: ANN202
    from .kube import KubeAdapter

    assert config.kube is not None               # called only when [kube] is configured
    return KubeAdapter(config.kube)


def _build_ansible(config: DcopsConfig):  # noqa: ANN202 - returns an AnsiblePort
    from ..config.ssh import SshSection
    from .playbook_runner import AnsibleRunnerAdapter
    from .slurm_factory import _static_addresses

    assert config.ansible is not None
    return AnsibleRunnerAdapter(config.ansible, config.ssh or SshSection(), _static_addresses(config))
