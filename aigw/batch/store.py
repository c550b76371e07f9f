"""Batches and their items in the run log (tables of migration m008_batches).

Each write is its own statement on the store's own connection, made between awaits, so it never
joins a run's transaction. An item's run id is written before its run sends anything: after a
crash, `reconcile` reads what that run became (served, failed, cut off) from the runs table."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aigw.store.db import connect

DONE, FAILED, PENDING, RUNNING, MALFORMED = "ok", "failed", "pending", "running", "malformed"
FINAL_JOB_STATUSES = ("completed", "failed", "cancelled", "expired")  # what providers record at a job's end


@dataclass(frozen=True)
class Batch:
    id: str
    kind: str
    fingerprint: str
    argv: list[str]
    created: str
    status: str


@dataclass
class StoredItem:
    line: int
    item_id: str | None
    request: dict[str, Any]
    run_id: str | None
    status: str
    exit_code: int | None
    error: str | None


class BatchStore:
    def __init__(self, path: Path) -> None:
        self.conn = connect(path)

    def close(self) -> None:
        self.conn.close()

    def create(self, batch_id: str, *, kind: str, fingerprint: str, argv: list[str], created: datetime,
               items: list[tuple[int, str | None, dict[str, Any], str, str | None]]) -> None:
        """The batch and every item (line, id, request, status, error) in one transaction."""
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("INSERT INTO batches (id, kind, fingerprint, argv_json, created, status)"
                              " VALUES (?, ?, ?, ?, ?, 'running')",
                              (batch_id, kind, fingerprint, json.dumps(argv), created.isoformat()))
            for line, item_id, request, status, error in items:
                self.conn.execute("INSERT INTO batch_items (batch_id, line, item_id, request_json, status, error)"
                                  " VALUES (?, ?, ?, ?, ?, ?)",
                                  (batch_id, line, item_id, json.dumps(request, default=str), status, error))

    def update(self, batch_id: str, *, fingerprint: str,
               items: list[tuple[int, str | None, dict[str, Any], str, str | None]]) -> None:
        """A resumed batch takes the input it was resumed with: a line whose request is unchanged and
        done stays done; any other is written as given (its last run id kept, for a resume to find)."""
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("UPDATE batches SET fingerprint = ?, status = 'running' WHERE id = ?",
                              (fingerprint, batch_id))
            for line, item_id, request, status, error in items:
                text = json.dumps(request, default=str)
                self.conn.execute(
                    "INSERT INTO batch_items (batch_id, line, item_id, request_json, status, error)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(batch_id, line) DO UPDATE SET"
                    " item_id = ?3, request_json = ?4, status = ?5, exit_code = NULL, error = ?6"
                    " WHERE NOT (batch_items.status = 'ok' AND batch_items.request_json = ?4)",
                    (batch_id, line, item_id, text, status, error))

    def get(self, batch_id: str) -> Batch | None:
        row = self.conn.execute("SELECT id, kind, fingerprint, argv_json, created, status FROM batches WHERE id = ?",
                                (batch_id,)).fetchone()
        return _batch(row)

    def latest(self, fingerprint: str) -> Batch | None:
        row = self.conn.execute("SELECT id, kind, fingerprint, argv_json, created, status FROM batches"
                                " WHERE fingerprint = ? ORDER BY created DESC, id DESC LIMIT 1",
                                (fingerprint,)).fetchone()
        return _batch(row)

    def items(self, batch_id: str) -> list[StoredItem]:
        rows = self.conn.execute("SELECT line, item_id, request_json, run_id, status, exit_code, error"
                                 " FROM batch_items WHERE batch_id = ? ORDER BY line", (batch_id,)).fetchall()
        return [StoredItem(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], r[6]) for r in rows]

    def start_item(self, batch_id: str, line: int, run_id: str) -> None:
        """Before the run sends anything: the run id a resume will look up."""
        self.conn.execute("UPDATE batch_items SET status = ?, run_id = ?, exit_code = NULL, error = NULL"
                          " WHERE batch_id = ? AND line = ?", (RUNNING, run_id, batch_id, line))

    def finish_item(self, batch_id: str, line: int, *, status: str, exit_code: int | None,
                    error: str | None = None) -> None:
        self.conn.execute("UPDATE batch_items SET status = ?, exit_code = ?, error = ? WHERE batch_id = ? AND line = ?",
                          (status, exit_code, error, batch_id, line))

    def set_status(self, batch_id: str, status: str) -> None:
        self.conn.execute("UPDATE batches SET status = ? WHERE id = ?", (status, batch_id))

    def reconcile(self, batch_id: str) -> list[StoredItem]:
        """Items left `running` by a process that stopped (a crash, kill -9, a second Ctrl-C) take
        the state of their run: served (`ok`), failed, or never finished (back to `pending`, to run
        again, or to have its queue job polled). The runs of a dead process were already marked
        `interrupted` when the run log was opened (store/recovery.py)."""
        for item in self.items(batch_id):
            if item.status != RUNNING:
                continue
            run = None if item.run_id is None else self.conn.execute(
                "SELECT status, exit_code, error FROM runs WHERE id = ?", (item.run_id,)).fetchone()
            if run is not None and run[0] == "ok":
                self.finish_item(batch_id, item.line, status=DONE, exit_code=run[1] or 0)
            elif run is not None and run[0] == "failed":
                self.finish_item(batch_id, item.line, status=FAILED, exit_code=run[1], error=run[2])
            else:
                self.finish_item(batch_id, item.line, status=PENDING, exit_code=None)
        return self.items(batch_id)

    def unfinished_job(self, run_id: str) -> tuple[str, str] | None:
        """(provider, job id) of a queue job the run submitted and never saw end, else None."""
        marks = ",".join("?" * len(FINAL_JOB_STATUSES))
        row = self.conn.execute(f"SELECT provider, job_id FROM jobs WHERE run_id = ? AND status NOT IN ({marks})"
                                " ORDER BY updated_at DESC LIMIT 1", (run_id, *FINAL_JOB_STATUSES)).fetchone()
        return None if row is None else (row[0], row[1])


def _batch(row: sqlite3.Row | tuple[Any, ...] | None) -> Batch | None:
    if row is None:
        return None
    return Batch(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5])
