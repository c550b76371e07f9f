"""The run log's view of the cache (table cache_entries, column runs.cache_hit_of; migration
m010_result_cache). The entry directories are what is served; these rows let `aigw logs` and
`aigw stats` join hits to the runs they came from and count what they saved."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from aigw.store.cache.entries import Entry


def record_entry(conn: sqlite3.Connection, entry: Entry) -> None:
    conn.execute(
        "INSERT INTO cache_entries (key, kind, model, provider, source_run_id, created_at, bytes)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET kind=excluded.kind, model=excluded.model,"
        " provider=excluded.provider, source_run_id=excluded.source_run_id, created_at=excluded.created_at,"
        " bytes=excluded.bytes, hits=0, last_hit_at=NULL",
        (entry.key, entry.get("kind"), entry.get("model"), entry.get("provider"), entry.get("source_run"),
         entry.get("created_at"), entry.bytes),
    )


def record_hit(conn: sqlite3.Connection, run_id: str, source_run: str, key: str, at: datetime) -> None:
    conn.execute("UPDATE runs SET cache_hit_of = ? WHERE id = ?", (source_run, run_id))
    conn.execute("UPDATE cache_entries SET hits = hits + 1, last_hit_at = ? WHERE key = ?", (at.isoformat(), key))


def forget(conn: sqlite3.Connection, keys: list[str]) -> None:
    """The rows of removed entries."""
    conn.executemany("DELETE FROM cache_entries WHERE key = ?", [(k,) for k in keys])


def forget_missing(conn: sqlite3.Connection, keep: set[str]) -> None:
    """Rows whose entry is no longer on disk (`keep`: the keys that are)."""
    for (key,) in list(conn.execute("SELECT key FROM cache_entries")):
        if key not in keep:
            conn.execute("DELETE FROM cache_entries WHERE key = ?", (key,))
