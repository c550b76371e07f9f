"""The run log: one SQLite file (WAL, busy timeout) shared safely by concurrent aigw processes."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from aigw.store import owner
from aigw.store.migrations import migrate
from aigw.types import Attempt, RunResult

BUSY_TIMEOUT_MS = 10_000


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    migrate(conn)
    return conn


class RunLog:
    def __init__(self, path: Path, *, keep_open: bool = False) -> None:
        from aigw.store.recovery import recover
        from aigw.store.state import SQLiteRoutingState

        self.path = path
        self.conn = connect(path)
        self.state = SQLiteRoutingState(self.conn)
        self.recovered = recover(self.conn, path.parent)  # runs a killed aigw left `running`
        self.keep_open = keep_open  # shared by several runs in one session: close() leaves it open

    def close(self) -> None:
        if not self.keep_open:
            self.conn.close()

    def really_close(self) -> None:
        self.conn.close()

    def begin_group(self) -> None:
        """Group the writes that end a successful run (its files, its attempt, the run) into one
        commit. Nothing between here and end_group() waits on the network."""
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")

    def end_group(self) -> None:
        """Commit the group, also when what followed failed: a paid result stays logged."""
        if self.conn.in_transaction:
            self.conn.execute("COMMIT")

    def start_run(self, run_id: str, *, kind: str, created_at: datetime, requested_model: str,
                  request: dict[str, Any], estimated_cost_usd: float | None) -> None:
        self.conn.execute(
            "INSERT INTO runs (id, kind, created_at, status, requested_model, estimated_cost_usd, request_json, owner)"
            " VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
            (run_id, kind, created_at.isoformat(), requested_model, estimated_cost_usd,
             json.dumps(request, default=str), owner.current()),
        )

    def add_attempt(self, run_id: str, a: Attempt) -> None:
        self.conn.execute(
            "INSERT INTO attempts (run_id, hop, provider, provider_model, model, started_at, latency_ms,"
            " http_status, failure_class, error, retry_after_s, waited_s, bytes_up, bytes_down,"
            " estimated_cost_usd, actual_cost_usd, served) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, a.hop, a.provider, a.provider_model, a.model, a.started_at.isoformat(), a.latency_ms,
             a.http_status, a.failure_class, a.error, a.retry_after_s, a.waited_s, a.bytes_up, a.bytes_down,
             a.estimated_cost_usd, a.actual_cost_usd, int(a.served)),
        )

    def record_file(self, run_id: str, path: Path, size: int, sha256: str, created_at: datetime) -> None:
        self.conn.execute(
            "INSERT INTO files (run_id, path, bytes, sha256, created_at) VALUES (?, ?, ?, ?, ?)",
            (run_id, str(path), size, sha256, created_at.isoformat()),
        )

    def record_job(self, run_id: str, provider: str, job_id: str, status: str, details: dict[str, Any],
                   at: datetime) -> None:
        """A queued job at a provider: kept so an interrupted run can be found and resumed."""
        self.conn.execute(
            "INSERT INTO jobs (run_id, provider, job_id, status, details_json, updated_at) VALUES (?,?,?,?,?,?)"
            " ON CONFLICT(provider, job_id) DO UPDATE SET status=excluded.status,"
            # Later updates add to what the submit recorded (status and cancel URLs stay).
            " details_json=json_patch(jobs.details_json, excluded.details_json), updated_at=excluded.updated_at",
            (run_id, provider, job_id, status, json.dumps(details, default=str), at.isoformat()),
        )

    def finish_run(self, result: RunResult) -> None:
        self.conn.execute(
            "UPDATE runs SET status='ok', model=?, provider=?, provider_model=?, cost_usd=?, latency_ms=?,"
            " exit_code=0, result_json=? WHERE id=?",
            (result.model, result.provider, result.provider_model, result.cost_usd, result.latency_ms,
             result.model_dump_json(), result.id),
        )

    def fail_run(self, run_id: str, *, exit_code: int, error: str) -> None:
        self.conn.execute(
            "UPDATE runs SET status='failed', exit_code=?, error=? WHERE id=?", (exit_code, error, run_id)
        )

    def interrupt_run(self, run_id: str, *, exit_code: int, error: str) -> None:
        """Ended by a signal (Ctrl-C, SIGTERM, SIGHUP): status `interrupted`."""
        self.conn.execute(
            "UPDATE runs SET status='interrupted', exit_code=?, error=? WHERE id=?", (exit_code, error, run_id)
        )

    def spent_since(self, since: datetime) -> float:
        """Money spent on served attempts since a moment (unknown costs count their estimate)."""
        row = self.conn.execute(
            "SELECT COALESCE(SUM(COALESCE(actual_cost_usd, estimated_cost_usd, 0)), 0) FROM attempts"
            " WHERE served = 1 AND started_at >= ?",
            (since.isoformat(),),
        ).fetchone()
        return float(row[0])

    def runs(self) -> list[sqlite3.Row]:
        self.conn.row_factory = sqlite3.Row
        try:
            return list(self.conn.execute("SELECT * FROM runs ORDER BY id"))
        finally:
            self.conn.row_factory = None
