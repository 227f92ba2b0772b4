"""Sealed audit log, attacked on SQLite (the PostgreSQL twin: tests/integration/postgres/test_pg_seals.py).

Each test is an attacker with write access to the database (and not to the seal key) trying one
tamper kind; each asserts verify refuses the log and says why."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from dcops.actions.errors import AuditError, ConfigError
from dcops.actions.seal.keys import generate, load_signer
from dcops.actions.seal.setup import sealed_store
from dcops.actions.seal.sinks import parse_seal_lines
from dcops.actions.store import open_store

from . import tamper
from .sealed_scenarios import entry, no_sink, rewrite, sealed_config, verify, write_sealed


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'audit.db'}"


async def test_intact_log_is_sealed_to_its_head(url: str, tmp_path: Path) -> None:
    s = await write_sealed(url, tmp_path)
    chain, seals = await verify(s)
    assert chain.ok and chain.records == 17
    assert seals is not None and seals.ok and seals.sealed_seq == 16 and seals.unsealed == 0
    assert seals.seals == 6 and seals.external == 3
    assert len(s.sink.read_text().splitlines()) == 3


@pytest.mark.parametrize("kind", sorted(tamper.TAMPERS))
async def test_plain_tamper_breaks_the_chain(url: str, tmp_path: Path, kind: str) -> None:
    s = await write_sealed(url, tmp_path)
    rewrite(s, tamper.TAMPERS[kind])
    chain, _ = await verify(s)
    assert not chain.ok, kind


@pytest.mark.parametrize("kind", sorted(tamper.TAMPERS))
async def test_tamper_then_full_recompute_fails_the_seals(url: str, tmp_path: Path, kind: str) -> None:
    s = await write_sealed(url, tmp_path)
    rewrite(s, lambda rows: tamper.recompute(tamper.TAMPERS[kind](rows)))
    chain, seals = await verify(s, no_sink(s))  # the seal records in the log alone catch it
    assert chain.ok, "a recomputed chain is consistent with itself"
    assert seals is not None and not seals.ok and "rewritten" in seals.problem, kind


async def test_recompute_with_seal_records_removed_is_caught_by_the_sink(url: str, tmp_path: Path) -> None:
    s = await write_sealed(url, tmp_path)
    rewrite(s, lambda rows: tamper.recompute(tamper.edit(tamper.without_seals(rows))))
    chain, alone = await verify(s, no_sink(s))
    assert chain.ok and alone is not None and alone.ok and alone.seals == 0
    assert "no seal found" in alone.line()  # without the sink: said, not proven
    _, seals = await verify(s)
    assert seals is not None and not seals.ok and ("rewritten" in seals.problem or "removed" in seals.problem)


async def test_truncation_behind_a_seal(url: str, tmp_path: Path) -> None:
    s = await write_sealed(url, tmp_path)
    rewrite(s, lambda rows: rows[:9])  # keeps the seal of #5, drops the one of #11
    chain, seals = await verify(s)
    assert chain.ok
    assert seals is not None and not seals.ok and "ends at #9" in seals.problem


async def test_whole_file_deleted_is_not_recreated(url: str, tmp_path: Path) -> None:
    s = await write_sealed(url, tmp_path)
    path = tamper.sqlite_path(url)
    path.unlink()
    for side in ("-wal", "-shm"):
        Path(str(path) + side).unlink(missing_ok=True)
    with pytest.raises(AuditError, match="missing"):
        await sealed_store(s.config, open_store(url))
    assert not path.exists(), "the engine must not create a fresh log over a lost one"


async def test_zero_byte_file_is_refused(url: str, tmp_path: Path) -> None:
    s = await write_sealed(url, tmp_path)
    path = tamper.sqlite_path(url)
    for side in ("-wal", "-shm"):
        Path(str(path) + side).unlink(missing_ok=True)
    path.write_bytes(b"")
    with pytest.raises(AuditError, match="empty"):
        await sealed_store(s.config, open_store(url))
    assert path.stat().st_size == 0


async def test_truncated_database_is_refused_at_start(url: str, tmp_path: Path) -> None:
    s = await write_sealed(url, tmp_path)
    rewrite(s, lambda rows: rows[:9])
    with pytest.raises(AuditError, match="ends at #9"):
        await sealed_store(s.config, open_store(url))


async def test_forged_seal_with_another_key(url: str, tmp_path: Path) -> None:
    s = await write_sealed(url, tmp_path)
    evil = tmp_path / "evil"
    evil.mkdir()
    generate(evil / "k.key", evil / "k.pub")
    from dcops.actions.seal.seal import make_seal

    signer = load_signer(str(evil / "k.key"), None, None)

    def forge(rows):  # noqa: ANN001
        rows = tamper.recompute(tamper.edit(tamper.without_seals(rows)))
        last = rows[-1]
        forged = make_seal(signer, last["seq"], last["hash"], "lab")
        return tamper.recompute(
            rows + [{**last, "event": "seal", "run_id": "seal", "detail": forged.to_json(), "targets": "[]"}]
        )

    rewrite(s, forge)
    _, seals = await verify(s, no_sink(s))
    assert seals is not None and not seals.ok and "not among the accepted public keys" in seals.problem


async def test_key_rotation_accepts_old_and_new_keys_by_id(url: str, tmp_path: Path) -> None:
    await write_sealed(url, tmp_path, records=6, key="old")
    s = await write_sealed(url, tmp_path, records=6, key="new")  # appends, sealed with the new key
    assert {p.name for p in tmp_path.glob("*.pub")} == {"old.pub", "new.pub"}
    _, seals = await verify(s)
    assert seals is not None and seals.ok and seals.unsealed == 0
    only_new = s.config.model_copy(
        update={"audit": s.config.audit.model_copy(update={"seal_public_keys": [str(tmp_path / "new.pub")]})}
    )
    _, refused = await verify(s, only_new)
    assert refused is not None and not refused.ok and "not among the accepted public keys" in refused.problem


async def test_unsealed_tail_is_reported(url: str, tmp_path: Path) -> None:
    s = await write_sealed(url, tmp_path)
    store = open_store(url)  # a writer without sealing (or killed -9)
    await store.append([entry(90), entry(91)])
    await store.aclose()
    _, seals = await verify(s)
    assert (
        seals is not None and seals.ok and seals.unsealed == 2 and "2 record(s) after it are unsealed" in seals.line()
    )


def test_group_readable_key_is_refused(tmp_path: Path) -> None:
    generate(tmp_path / "k.key", tmp_path / "k.pub")
    os.chmod(tmp_path / "k.key", 0o440)
    with pytest.raises(ConfigError, match="mode 0440"):
        load_signer(str(tmp_path / "k.key"), None, None)


def test_keygen_never_overwrites(tmp_path: Path) -> None:
    generate(tmp_path / "k.key", tmp_path / "k.pub")
    with pytest.raises(ConfigError, match="never overwrites"):
        generate(tmp_path / "k.key", tmp_path / "k2.pub")
    assert oct(os.stat(tmp_path / "k.key").st_mode & 0o777) == "0o400"


async def test_seals_shipped_to_syslog_over_udp_verify_against_the_log_server(url: str, tmp_path: Path) -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(5)
    port = server.getsockname()[1]
    config = sealed_config(url, tmp_path, sinks=False)
    config = config.model_copy(
        update={"audit": config.audit.model_copy(update={"seal_sinks": [f"syslog+udp://127.0.0.1:{port}"]})}
    )
    store = await sealed_store(config, open_store(url))
    for i in range(1, 8):
        await store.append([entry(i)])
    await store.aclose()
    lines = [server.recv(65536).decode() for _ in range(2)]
    server.close()
    assert all(line.startswith("<") and "dcops-seal: " in line for line in lines)  # <PRI>ident: json
    seals = parse_seal_lines(lines)
    assert [x.seq for x in seals] == [5, 8]
    (tmp_path / "syslog.txt").write_text("\n".join(["unrelated line"] + lines) + "\n")
    # the attacker truncates the database; the log server's copy of the seals catches it
    from .sealed_scenarios import Sealed

    s = Sealed(url, config, tmp_path / "syslog.txt", tmp_path)
    rewrite(s, lambda rows: rows[:4])
    from dcops.actions.seal.check import check_seals
    from dcops.actions.seal.setup import external_seals, keyring

    store = open_store(url)
    chain = await store.verify()
    report = await check_seals(
        store, chain, keyring(config), external=external_seals(config, [str(tmp_path / "syslog.txt")]), log_name="lab"
    )
    await store.aclose()
    assert chain.ok and not report.ok and "ends at #4" in report.problem


async def test_seal_after_interval_while_records_wait(url: str, tmp_path: Path) -> None:
    import asyncio

    from dcops.actions.store.base import AuditQuery

    config = sealed_config(url, tmp_path, every=1000)
    config = config.model_copy(update={"audit": config.audit.model_copy(update={"seal_interval": 0.2})})
    store = await sealed_store(config, open_store(url))
    await store.append([entry(1)])
    assert not await store.query(AuditQuery(event="seal"))
    await asyncio.sleep(0.6)
    seals = await store.query(AuditQuery(event="seal"))
    await store.aclose()
    assert len(seals) == 1 and '"seq":1' in (seals[0].detail or "")


async def test_external_signer_command(url: str, tmp_path: Path) -> None:
    """The key can live outside dcops' process (an HSM, a signing daemon): dcops runs a command that
    signs stdin and prints a base64 signature."""
    import sys

    from dcops.actions.seal.keys import generate
    from dcops.actions.store.base import AuditQuery

    kid = generate(tmp_path / "hsm.key", tmp_path / "hsm.pub")
    signer = tmp_path / "sign.py"
    signer.write_text(
        "import base64, sys\n"
        "from cryptography.hazmat.primitives import serialization\n"
        "key = serialization.load_pem_private_key(open(sys.argv[1], 'rb').read(), password=None)\n"
        "print(base64.b64encode(key.sign(sys.stdin.buffer.read())).decode())\n"
    )
    config = sealed_config(url, tmp_path, sinks=False)
    config = config.model_copy(
        update={
            "audit": config.audit.model_copy(
                update={
                    "seal_key": None,
                    "seal_signer": [sys.executable, str(signer), str(tmp_path / "hsm.key")],
                    "seal_key_id": kid,
                    "seal_public_keys": [str(tmp_path / "hsm.pub")],
                }
            )
        }
    )
    store = await sealed_store(config, open_store(url))
    for i in range(1, 4):
        await store.append([entry(i)])
    await store.aclose()
    from .sealed_scenarios import Sealed

    chain, seals = await verify(Sealed(url, config, tmp_path / "none", tmp_path))
    assert chain.ok and seals is not None and seals.ok and seals.seals == 1 and seals.sealed_seq == 3
    store = open_store(url)
    rec = (await store.query(AuditQuery(event="seal")))[0]
    await store.aclose()
    assert kid in (rec.detail or "")


async def test_seals_shipped_to_journald_native_socket(url: str, tmp_path: Path) -> None:
    """journald's native protocol (KEY=value lines in one datagram), on a socket of our own."""
    path = str(tmp_path / "journal.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(5)
    config = sealed_config(url, tmp_path, sinks=False)
    config = config.model_copy(update={"audit": config.audit.model_copy(update={"seal_sinks": [f"journald:{path}"]})})
    store = await sealed_store(config, open_store(url))
    await store.append([entry(1)])
    await store.aclose()
    fields = dict(line.split("=", 1) for line in server.recv(65536).decode().splitlines())
    server.close()
    assert fields["SYSLOG_IDENTIFIER"] == "dcops-seal" and fields["DCOPS_SEAL_SEQ"] == "1"
    assert [s.seq for s in parse_seal_lines([fields["MESSAGE"]])] == [1]


async def test_a_sink_that_fails_is_loud_but_the_log_is_still_sealed(url: str, tmp_path: Path) -> None:
    config = sealed_config(url, tmp_path, sinks=False)
    config = config.model_copy(
        update={"audit": config.audit.model_copy(update={"seal_sinks": [f"journald:{tmp_path}/no-such.sock"]})}
    )
    store = await sealed_store(config, open_store(url))
    await store.append([entry(1)])
    errors = list(store.sink_errors)
    await store.aclose()
    assert errors == [] or "not shipped" in errors[0]
    assert store.sink_errors and "not shipped to journald" in store.sink_errors[0]
    from .sealed_scenarios import Sealed

    _, seals = await verify(Sealed(url, config, tmp_path / "none", tmp_path))
    assert seals is not None and seals.ok and seals.seals == 1
