"""The whole config file as one pydantic model."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr, ValidationError, field_validator, model_validator

from ._base import Section
from .alerts import AlertmanagerSection, AlertsSection, ValidateSection
from .ansible import AnsibleSection
from .grafana import GrafanaSection
from .identity import IdentitySection
from .kube import KubeSection
from .prometheus import PrometheusSection
from .provisioning import ProvisioningSection
from .redfish import RedfishSection
from .slurm import SlurmSection
from .ssh import SshSection


def _xdg_data() -> Path:
    from ..paths import data_dir

    return data_dir()


class ClusterSection(Section):
    name: str = "cluster"
    production: bool = False  # production clusters get a red border and banner
    theme: str | None = None  # pin a theme for this cluster (dcops-dark, dcops-light, dcops-contrast)
    demo: bool = False  # run on the built-in simulator
    demo_nodes: int = Field(64, ge=1, le=100_000)  # simulator size (the TUI is benchmarked with 10,000)
    demo_time_scale: float = Field(5.0, gt=0, le=10_000)  # simulated seconds per real second (a reimage takes ~1 min)
    read_only: bool = False  # refuse every non-read action, whatever the policy says


class AuditSection(Section):
    """``url``: ``sqlite:///ABS/PATH.db`` (default under $XDG_DATA_HOME/dcops) or ``postgresql://…``.

    Sealing (``actions/seal``): ``seal_key`` (an Ed25519 private key file, mode 0400, made by
    ``dcops audit keygen``) or ``seal_signer`` (a command that signs stdin and prints a base64
    signature, with ``seal_key_id``) turns it on; ``seal_public_keys`` are what verify accepts."""

    url: str | None = None
    lock_dir: str | None = None  # node lock files for the SQLite store (default: beside the db)
    seal_key: str | None = None  # private key file, readable by the dcops service account only
    seal_signer: list[str] | None = None  # or an external signer command (argv)
    seal_key_id: str | None = None  # the key id of seal_signer's key
    seal_public_keys: list[str] = []  # PEM files or directories of *.pub accepted by verify (rotation)
    seal_every: int = Field(100, ge=1, le=1_000_000)  # seal at least every N records
    seal_interval: float = Field(60.0, gt=0, le=86_400)  # ... and every T seconds while records wait
    seal_sinks: list[str] = []  # file:/ABS/PATH, syslog, syslog+udp://HOST:PORT, journald

    @model_validator(mode="after")
    def _check_sealing(self) -> AuditSection:
        if self.seal_key and self.seal_signer:
            raise ValueError("give seal_key or seal_signer, not both")
        if self.seal_signer is not None and not self.seal_signer:
            raise ValueError("seal_signer is an empty command")
        if self.seal_signer and not self.seal_key_id:
            raise ValueError("seal_signer needs seal_key_id (the key id `dcops audit keygen` printed)")
        if self.seal_key_id is not None and (
            len(self.seal_key_id) != 16 or any(c not in "0123456789abcdef" for c in self.seal_key_id)
        ):
            raise ValueError(f"seal_key_id {self.seal_key_id!r} is not 16 lowercase hex digits")
        if self.seal_sinks and not self.sealing:
            raise ValueError("seal_sinks without seal_key or seal_signer: nothing would be sealed")
        if not self.seal_sinks:
            return self  # (and no import of the sinks and their cryptography for a config without them)
        from ..errors import ConfigError
        from ..seal.sinks import parse_sink

        for spec in self.seal_sinks:
            try:
                parse_sink(spec)
            except ConfigError as exc:
                raise ValueError(str(exc).removeprefix("audit.seal_sinks: ")) from None
        return self

    @property
    def sealing(self) -> bool:
        return bool(self.seal_key or self.seal_signer)

    def effective_url(self) -> str:
        return self.url or f"sqlite:///{_xdg_data() / 'audit.db'}"


class PolicySection(Section):
    path: str | None = None  # RBAC policy TOML; default $XDG_CONFIG_HOME/dcops/policy.toml


class GuardsSection(Section):
    max_partition_unavailable: float = 0.5  # refuse when more than this share of a partition would be out
    confirm_destructive: bool = True
    # non-destructive actions that still ask a person the typed confirmation (node count or hostlist),
    # whichever front end they come from (fleet `d`, `:drain`, the CLI on a terminal, Slack)
    confirm_actions: list[str] = ["drain", "requeue"]
    approval_ttl: float = 3600.0  # seconds a pending approval stays valid
    lock_wait: float = 0.0  # seconds to wait for a busy node lock (0 = refuse at once)
    default_timeout: float = 3600.0  # per-action timeout unless the action sets its own


class NodeEntry(Section):
    """Static inventory entries (``[[nodes]]``), merged over what Slurm reports."""

    names: str  # hostlist, e.g. gpu[001-064]
    partitions: list[str] = []
    labels: list[str] = []
    ssh_host: str | None = None  # template: "{name}" or "10.0.0.{index}"
    bmc: str | None = None  # template like "https://{name}-bmc"

    @field_validator("ssh_host", "bmc")
    @classmethod
    def _template(cls, v: str | None) -> str | None:
        """A template may use {name} and {index} only: checked here, not when the inventory expands it."""
        if v is None:
            return v
        import string

        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(v) if f is not None]
        except ValueError as exc:
            raise ValueError(
                f"template {v!r} is malformed ({exc}); use {{name}} and {{index}}, "
                "and {{{{ }}}} for literal braces"
            ) from None
        for f in fields:
            if f not in ("name", "index"):
                raise ValueError(f"template {v!r} uses {{{f}}}; accepted: {{name}} and {{index}}")
        try:
            v.format(name="gpu001", index=1)
        except (ValueError, IndexError, KeyError) as exc:
            raise ValueError(f"template {v!r} cannot be expanded ({exc}); use {{name}} and {{index}}") from None
        return v


class TuiSection(Section):
    theme: str = "dcops-dark"
    refresh: float = Field(30.0, ge=0)  # seconds between Fleet / Jobs / Node reloads (0 = only on ctrl+r)
    bindings: dict[str, str] = {}  # binding id -> key(s), e.g. {"fleet.drain" = "D"}


class SlackSection(Section):
    bot_token_env: str = "SLACK_BOT_TOKEN"
    signing_secret_env: str = "SLACK_SIGNING_SECRET"
    app_token_env: str = "SLACK_APP_TOKEN"  # set -> Socket Mode
    approvals_channel: str | None = None
    api_base_url: str | None = None  # for tests: a local Slack Web API
    channel_rules: dict[str, list[str]] = {}  # action or kind ("destructive") -> allowed channel ids
    port: int = 3000
    host: str = "127.0.0.1"
    update_interval: float = 1.0  # min seconds between chat.update calls of one run message
    confirm_ttl: float = 300.0  # seconds a Confirm button stays valid


class DcopsConfig(Section):
    cluster: ClusterSection = Field(default_factory=ClusterSection)
    audit: AuditSection = Field(default_factory=AuditSection)
    policy: PolicySection = Field(default_factory=PolicySection)
    identity: IdentitySection = Field(default_factory=IdentitySection)
    guards: GuardsSection = Field(default_factory=GuardsSection)
    nodes: list[NodeEntry] = []
    slurm: SlurmSection | None = None
    ssh: SshSection | None = None
    redfish: RedfishSection | None = None
    prometheus: PrometheusSection | None = None
    kube: KubeSection | None = None
    provisioning: ProvisioningSection | None = None  # who reinstalls nodes for reimage (default: redfish-pxe)
    topology: str | None = None  # InfiniBand fabric topology file
    thresholds: dict[str, float] = {}  # overrides for health thresholds (gpu_temp_c, ...)
    tui: TuiSection = Field(default_factory=TuiSection)
    slack: SlackSection | None = None
    ansible: AnsibleSection | None = None  # playbooks as actions (toolbox)
    grafana: GrafanaSection | None = None  # links out to the site's dashboards (toolbox)
    alerts: AlertsSection = Field(default_factory=AlertsSection)
    alertmanager: AlertmanagerSection | None = None
    validate_: ValidateSection = Field(default_factory=ValidateSection, alias="validate")
    # sections of backends registered outside dcops (dcops.actions.backends.registry), validated by their model
    _backend_sections: dict[str, BaseModel] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _registered_sections(cls, data: object, handler):  # noqa: ANN206 - pydantic's wrap-validator signature
        """A top-level section named after a registered backend that is no field here (a site's own
        backend) is validated by that registration's section model; any other unknown key stays an error."""
        from ..backends.registry import spec_named

        found: dict[str, BaseModel] = {}
        if isinstance(data, dict):
            known = set(cls.model_fields) | {f.alias for f in cls.model_fields.values() if f.alias}
            data = dict(data)
            for key in [k for k in data if isinstance(k, str) and k not in known]:
                spec = spec_named(key)
                if spec is None or spec.section is None:
                    continue
                try:
                    found[key] = spec.section.model_validate(data.pop(key))
                except ValidationError as exc:
                    err = exc.errors()[0]
                    where = ".".join(str(x) for x in (key, *err["loc"]))
                    raise ValueError(f"{where}: {err['msg']}") from None
        model = handler(data)
        model._backend_sections = found
        return model

    def backend_section(self, name: str) -> BaseModel | None:
        """The ``[name]`` section of a registered backend, or None when the file has none."""
        if name in type(self).model_fields:
            value = getattr(self, name)
            return value if isinstance(value, BaseModel) else None
        return self._backend_sections.get(name)

    def resolved(self, base_dir: Path) -> DcopsConfig:
        """Relative paths in the file are relative to the file, not to the current directory."""

        def fix(p: str | None) -> str | None:
            if p is None or "://" in p:
                return p
            p = str(Path(p).expanduser())
            if p.startswith("/"):
                return p
            return str((base_dir / p).resolve())

        update: dict = {}
        if self.policy.path:
            update["policy"] = self.policy.model_copy(update={"path": fix(self.policy.path)})
        if self.topology:
            update["topology"] = fix(self.topology)
        if self.ansible is not None:
            update["ansible"] = self.ansible.model_copy(update={"playbook_dir": fix(self.ansible.playbook_dir)})
        if self.alerts.mapping:
            update["alerts"] = self.alerts.model_copy(update={"mapping": fix(self.alerts.mapping)})
        if self.redfish is not None and (self.redfish.ca_bundle or self.redfish.password_file):
            update["redfish"] = self.redfish.model_copy(
                update={"ca_bundle": fix(self.redfish.ca_bundle), "password_file": fix(self.redfish.password_file)}
            )
        audit: dict = {}
        if self.audit.url and self.audit.url.startswith("sqlite:///") and not self.audit.url.startswith("sqlite:////"):
            rel = self.audit.url.removeprefix("sqlite:///")
            audit["url"] = f"sqlite:///{fix(rel)}"
        if self.audit.seal_key:
            audit["seal_key"] = fix(self.audit.seal_key)
        if self.audit.seal_public_keys:
            audit["seal_public_keys"] = [fix(p) for p in self.audit.seal_public_keys]
        if audit:
            update["audit"] = self.audit.model_copy(update=audit)
        return self.model_copy(update=update) if update else self

    @property
    def kind(self) -> Literal["demo", "real"]:
        return "demo" if self.cluster.demo else "real"
