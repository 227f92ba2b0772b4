"""Seal keys: Ed25519 via ``cryptography`` (a maintained library; no hand-written crypto here).

A key id is the first 16 hex digits of SHA-256 over the raw 32-byte public key: it is printed by
``dcops audit keygen``, carried in every seal, and picks the public key a verifier checks the seal
with, so several keys (old and new, during a rotation) can be accepted at once.

The private key file must be readable by its owner only (mode 0400 or 0600): a key other users can
read lets them forge seals, which defeats the point; such a file is refused, naming its mode.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import ConfigError


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate(private_path: Path, public_path: Path) -> str:
    """Write a new key pair (private 0400, created exclusively: never overwrites a key); returns its id."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for p in (private_path, public_path):
        if p.exists():
            raise ConfigError(f"{p} already exists; keygen never overwrites a key (move it aside to rotate)")
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        public_path.write_bytes(pub)
    except OSError as exc:
        raise ConfigError(f"cannot write the key pair: {exc.filename}: {exc.strerror}") from None
    return key_id(key.public_key())


@dataclass(frozen=True)
class Signer:
    """Signs seal payloads: with a private key in this process, or through an external command."""

    key_id: str
    _key: Ed25519PrivateKey | None = None
    _command: tuple[str, ...] = ()

    def sign(self, payload: bytes) -> bytes:
        if self._key is not None:
            return self._key.sign(payload)
        try:
            done = subprocess.run(self._command, input=payload, capture_output=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ConfigError(f"seal signer {self._command[0]} failed: {exc}") from None
        if done.returncode != 0:
            raise ConfigError(
                f"seal signer {self._command[0]} exited {done.returncode}: "
                f"{done.stderr.decode(errors='replace').strip()[:200]}"
            )
        try:
            return base64.b64decode(done.stdout.strip(), validate=True)
        except ValueError:
            raise ConfigError(f"seal signer {self._command[0]} did not print a base64 signature") from None


def load_signer(private_path: str | None, command: Sequence[str] | None, command_key_id: str | None) -> Signer:
    if command:
        if not command_key_id:
            raise ConfigError("audit.seal_signer needs audit.seal_key_id (the id `dcops audit keygen` printed)")
        return Signer(key_id=command_key_id, _command=tuple(command))
    assert private_path is not None
    return _file_signer(Path(private_path))


def _file_signer(path: Path) -> Signer:
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"audit.seal_key {path}: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"audit.seal_key {path} has mode {stat.S_IMODE(st.st_mode):04o}: other users could read "
            f"it and forge seals; chmod 0400 it (readable by the dcops service account only)"
        )
    if st.st_uid != os.geteuid():
        raise ConfigError(f"audit.seal_key {path} belongs to uid {st.st_uid}, not to this account ({os.geteuid()})")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise ConfigError(f"audit.seal_key {path}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise ConfigError(f"audit.seal_key {path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"audit.seal_key {path} is not an Ed25519 key (make one with `dcops audit keygen`)")
    return Signer(key_id=key_id(key.public_key()), _key=key)


class Keyring:
    """The public keys a verifier accepts, by key id (several during a key rotation)."""

    def __init__(self, keys: dict[str, Ed25519PublicKey]) -> None:
        self.keys = keys

    def __bool__(self) -> bool:
        return bool(self.keys)

    def check(self, kid: str, payload: bytes, signature: bytes) -> str | None:
        """None when the signature is good, else what is wrong with it."""
        key = self.keys.get(kid)
        if key is None:
            return f"signed by key {kid!r}, which is not among the accepted public keys ({', '.join(sorted(self.keys)) or 'none'})"
        try:
            key.verify(signature, payload)
        except InvalidSignature:
            return "signature does not match (forged or altered seal)"
        return None


def load_keyring(paths: Sequence[str]) -> Keyring:
    """Public keys from PEM files, or every ``*.pub`` in a directory."""
    keys: dict[str, Ed25519PublicKey] = {}
    for entry in paths:
        p = Path(entry)
        files = sorted(p.glob("*.pub")) if p.is_dir() else [p]
        for f in files:
            try:
                key = serialization.load_pem_public_key(f.read_bytes())
            except OSError as exc:
                raise ConfigError(f"audit.seal_public_keys: {f}: {exc.strerror}") from None
            except (ValueError, TypeError):
                raise ConfigError(f"audit.seal_public_keys: {f} is not a PEM public key") from None
            if not isinstance(key, Ed25519PublicKey):
                raise ConfigError(f"audit.seal_public_keys: {f} is not an Ed25519 public key")
            keys[key_id(key)] = key
    return Keyring(keys)
