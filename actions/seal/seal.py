"""One seal: a signed statement "the chain of log LOG had record #SEQ with hash HASH at TS".

The signed payload is canonical JSON (sorted keys, no spaces) of every field but the signature, so
a verifier recomputes exactly the bytes that were signed from the JSON line it reads back.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from .keys import Keyring, Signer

VERSION = 1
MARK = "dcops-seal"  # prefix of a seal line in syslog/journald, so seals can be grepped out


@dataclass(frozen=True)
class Seal:
    seq: int
    hash: str
    ts: str
    key_id: str
    log: str
    sig: str  # base64 Ed25519 signature over payload()
    v: int = VERSION

    def payload(self) -> bytes:
        body = {k: v for k, v in asdict(self).items() if k != "sig"}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Seal:
        """Raises ValueError for anything that is not a well-formed seal."""
        try:
            raw = json.loads(text)
            seal = cls(
                seq=raw["seq"],
                hash=raw["hash"],
                ts=raw["ts"],
                key_id=raw["key_id"],
                log=raw["log"],
                sig=raw["sig"],
                v=raw.get("v", VERSION),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a seal: {exc}") from None
        if (
            not isinstance(seal.seq, int)
            or isinstance(seal.seq, bool)
            or seal.seq < 0
            or not isinstance(seal.hash, str)
            or len(seal.hash) != 64
        ):
            raise ValueError("not a seal: seq/hash malformed")
        return seal

    def check(self, keyring: Keyring) -> str | None:
        """None if the signature is good under one of the accepted keys, else the problem."""
        try:
            sig = base64.b64decode(self.sig, validate=True)
        except (ValueError, TypeError):
            return "signature is not base64 (forged or altered seal)"
        return keyring.check(self.key_id, self.payload(), sig)

    def line(self) -> str:
        return f"#{self.seq} {self.hash[:16]} at {self.ts} (key {self.key_id})"


def make_seal(signer: Signer, seq: int, digest: str, log: str) -> Seal:
    unsigned = Seal(
        seq=seq,
        hash=digest,
        ts=datetime.now(UTC).isoformat(timespec="microseconds"),
        key_id=signer.key_id,
        log=log,
        sig="",
    )
    sig = base64.b64encode(signer.sign(unsigned.payload())).decode()
    return Seal(**{**asdict(unsigned), "sig": sig})
