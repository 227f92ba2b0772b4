"""Sealed audit log: signed checkpoints of the hash chain's head.

The hash chain (``store/chain.py``) proves a log consistent with itself; anyone with write access
can still recompute it after an edit, or cut its tail. A *seal* is an Ed25519 signature over a chain
point (seq, hash) made with a key the writer of the database does not hold (a file only the dcops
service account reads, or an external signer command). Seals are appended to the chain itself as
``seal`` records, and shipped to external append-only sinks (syslog, journald, a file), so:

* a recompute behind a seal is caught (the sealed record's hash changed),
* a truncation behind a seal is caught (a sealed seq no longer exists),
* deleting every seal record and recomputing, or deleting the whole database, is caught against the
  external copies of the seals (``dcops audit verify --seals FILE`` or a configured file sink).

``keys`` loads and generates keys, ``seal`` signs and checks one seal, ``sinks`` ships and reads
them, ``sealing`` is the store wrapper the engine writes through, ``check`` is what verify adds.
"""
