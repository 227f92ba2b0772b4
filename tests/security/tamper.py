"""What an attacker with write access to the audit database does, on SQLite and PostgreSQL alike:
read every row, change them (edit, delete, insert, reorder, recompute the whole chain, cut the
tail) and write them back. Used by the sealed-audit tests of both stores."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dcops.actions.store.chain import GENESIS, STORED_COLUMNS, record_hash

COLS = STORED_COLUMNS
Row = dict[str, Any]


class Db:
    """A plain DB-API connection to the store's database, as the attacker's own client."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            self.conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
            self.pg = False
        else:
            import psycopg

            self.conn = psycopg.connect(url)
            self.pg = True

    def execute(self, sql: str, args: tuple = ()) -> list[tuple]:
        cur = self.conn.execute(sql.replace("?", "%s") if self.pg else sql, args)
        return cur.fetchall() if cur.description else []

    def rows(self) -> list[Row]:
        return [dict(zip(COLS, r)) for r in self.execute(f"SELECT {', '.join(COLS)} FROM audit ORDER BY seq")]

    def write(self, rows: list[Row]) -> None:
        """Replace the whole table with these rows (and a matching node index, each row with its
        record's ts as the store writes it, as a careful attacker would)."""
        self.execute("DELETE FROM audit")
        self.execute("DELETE FROM audit_nodes")
        for r in rows:
            self.execute(
                f"INSERT INTO audit ({', '.join(COLS)}) VALUES ({', '.join('?' * len(COLS))})",
                tuple(r[c] for c in COLS),
            )
            for node in json.loads(r["targets"]):
                self.execute("INSERT INTO audit_nodes (node, seq, ts) VALUES (?, ?, ?)", (node, r["seq"], r["ts"]))
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


def recompute(rows: list[Row]) -> list[Row]:
    """Renumber and rehash every record: a chain consistent with itself, whatever was changed."""
    out, prev = [], GENESIS
    for i, r in enumerate(rows, start=1):
        content = {**r, "seq": i, "targets": json.loads(r["targets"]), "params": json.loads(r["params"])}
        digest = record_hash(prev, content)
        out.append({**r, "seq": i, "prev_hash": prev, "hash": digest})
        prev = digest
    return out


def edit(rows: list[Row]) -> list[Row]:
    victim = _first_plain(rows)
    return [{**r, "detail": "nothing happened"} if r is victim else r for r in rows]


def delete(rows: list[Row]) -> list[Row]:
    victim = _first_plain(rows)
    return [r for r in rows if r is not victim]


def insert(rows: list[Row]) -> list[Row]:
    """A forged record slipped in; later records renumbered (their hashes untouched)."""
    i = rows.index(_first_plain(rows))
    forged = {**rows[i], "run_id": "forged", "detail": "alibi", "prev_hash": "f" * 64, "hash": "e" * 64}
    return rows[:i] + [forged] + rows[i:]


def renumber(rows: list[Row]) -> list[Row]:
    return [{**r, "seq": i} for i, r in enumerate(rows, start=1)]


def reorder(rows: list[Row]) -> list[Row]:
    i = rows.index(_first_plain(rows))
    return rows[:i] + [rows[i + 1], rows[i]] + rows[i + 2 :]


def without_seals(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r["event"] != "seal"]


def _first_plain(rows: list[Row]) -> Row:
    return next(r for r in rows if r["event"] != "seal" and r["seq"] > 1)


TAMPERS: dict[str, Callable[[list[Row]], list[Row]]] = {
    "edit": edit,
    "delete": delete,
    "insert": lambda rows: renumber(insert(rows)),
    "reorder": lambda rows: renumber(reorder(rows)),
}


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))
