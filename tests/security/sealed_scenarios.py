"""Sealed-audit scenarios shared by the SQLite (tests/security) and PostgreSQL
(tests/integration/postgres) test modules: build a sealed log through the real store, tamper with
it as an attacker with write access would, and check what verify (chain + seals) says."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dcops.actions.config.model import AuditSection, ClusterSection, DcopsConfig
from dcops.actions.seal.check import SealReport, check_seals
from dcops.actions.seal.keys import generate
from dcops.actions.seal.setup import external_seals, keyring, log_name, sealed_store
from dcops.actions.store import open_store
from dcops.actions.store.base import AuditEntry, VerifyReport

from . import tamper


@dataclass
class Sealed:
    url: str
    config: DcopsConfig
    sink: Path
    dir: Path


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        ts=f"2026-12-04T05:00:{i:02d}.000000+00:00",
        run_id=f"r{i}",
        event="finished",
        principal="unix:alice",
        channel="cli",
        action="drain",
        targets=[f"gpu{i:03d}"],
        params={"nodes": f"gpu{i:03d}", "reason": "xid 79"},
        outcome="ok",
    )


def sealed_config(url: str, tmp: Path, *, sinks: bool = True, key: str = "seal", every: int = 5) -> DcopsConfig:
    priv, pub = tmp / f"{key}.key", tmp / f"{key}.pub"
    if not priv.exists():
        generate(priv, pub)
    return DcopsConfig(
        cluster=ClusterSection(name="lab"),
        audit=AuditSection(
            url=url,
            seal_key=str(priv),
            seal_public_keys=[str(p) for p in sorted(tmp.glob("*.pub"))],
            seal_every=every,
            seal_interval=3600,
            seal_sinks=[f"file:{tmp / 'seals.log'}"] if sinks else [],
        ),
    )


async def write_sealed(url: str, tmp: Path, records: int = 14, **kw) -> Sealed:
    """14 records with seal_every=5: seals over #5, #11 and (at close) #14 -> 17 records in all."""
    config = sealed_config(url, tmp, **kw)
    store = await sealed_store(config, open_store(url))
    for i in range(1, records + 1):
        await store.append([entry(i)])
    await store.aclose()
    return Sealed(url, config, tmp / "seals.log", tmp)


async def verify(s: Sealed, config: DcopsConfig | None = None) -> tuple[VerifyReport, SealReport | None]:
    config = config or s.config
    store = open_store(s.url)
    try:
        chain = await store.verify()
        if not chain.ok:
            return chain, None
        return chain, await check_seals(
            store, chain, keyring(config), external=external_seals(config), log_name=log_name(config)
        )
    finally:
        await store.aclose()


def rewrite(s: Sealed, change) -> None:  # noqa: ANN001 - rows -> rows
    db = tamper.Db(s.url)
    try:
        db.write(change(db.rows()))
    finally:
        db.close()


def no_sink(s: Sealed) -> DcopsConfig:
    return s.config.model_copy(update={"audit": s.config.audit.model_copy(update={"seal_sinks": []})})
