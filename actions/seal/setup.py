"""Sealing as the config asks for it: the signing store wrapper for writers, the keyring and the
external seals for verifiers."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..config.model import DcopsConfig
from ..errors import AuditError, ConfigError
from ..store.base import Store
from .keys import Keyring, load_keyring, load_signer
from .seal import Seal
from .sealing import SealingStore, last_external_seal, refuse_lost_log
from .sinks import FileSink, parse_sink, read_seals

log = logging.getLogger("dcops.seal")


def log_name(config: DcopsConfig) -> str:
    """Which log a seal belongs to (a sink may be shared by several clusters): the cluster name."""
    return config.cluster.name


async def sealed_store(config: DcopsConfig, store: Store, *, review: bool = False) -> Store:
    """``store`` wrapped to seal, when the config turns sealing on; refuses a lost, truncated or
    rewritten log. ``review`` (audit verify/list): a log that fails the check is opened anyway so it
    can be examined, but not sealed (a seal over a rewritten chain would launder it)."""
    audit = config.audit
    if not audit.sealing or getattr(store, "recorded", True) is False:
        return store
    signer = load_signer(audit.seal_key, audit.seal_signer, audit.seal_key_id)
    sinks = [parse_sink(s) for s in audit.seal_sinks]
    try:
        await refuse_lost_log(store, last_external_seal(sinks, log_name(config)), keyring(config))
    except AuditError as exc:
        if not review:
            raise
        log.error("not sealing while reviewing: %s", exc)
        return store
    return SealingStore(
        store, signer, sinks, every=audit.seal_every, interval=audit.seal_interval, log_name=log_name(config)
    )


def keyring(config: DcopsConfig) -> Keyring:
    """The public keys verify accepts; without any listed, the signing key's own (if readable)."""
    audit = config.audit
    ring = load_keyring(audit.seal_public_keys)
    if not ring and audit.seal_key:
        try:
            signer = load_signer(audit.seal_key, None, None)
        except ConfigError:
            return ring
        assert signer._key is not None
        ring = Keyring({signer.key_id: signer._key.public_key()})
    return ring


def external_seals(config: DcopsConfig, extra_files: Sequence[str] = ()) -> list[Seal]:
    """Seals read back from the configured file sinks and from files the operator passed (a syslog
    file, ``journalctl -t dcops-seal -o cat`` output)."""
    seals: list[Seal] = []
    for spec in config.audit.seal_sinks:
        sink = parse_sink(spec)
        if isinstance(sink, FileSink):
            seals += read_seals(str(sink.path))
    for path in extra_files:
        try:
            with open(path, encoding="utf-8", errors="replace"):
                pass
        except OSError as exc:
            raise ConfigError(f"--seals {path}: {exc.strerror}") from None
        seals += read_seals(path)
    return seals
