"""The run log: one SQLite file (WAL, busy timeout) shared safely by concurrent aigw processes."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from aigw import errors
from aigw.redact import redact
from aigw.store import owner
from aigw.store.files import create_private, private_dirs
from aigw.store.migrations import migrate
from aigw.types import Attempt, RecordedJob, RunResult

BUSY_TIMEOUT_MS = 10_000


def run_log_error(path: Path, exc: sqlite3.Error) -> errors.RunLogError:
    """The one place a SQLite failure becomes an aigw error: one line naming the file and the fix."""
    text = str(exc)
    low = text.lower()
    if type(exc) is sqlite3.DatabaseError or "malformed" in low or "not a database" in low:
        return errors.RunLogUnusable(f"the run log {path} is damaged ({text})",
                                     hint=f"move it aside and aigw starts a new one: mv {path} {path}.bad")
    if "readonly" in low or "read-only" in low or "unable to open" in low:
        return errors.RunLogUnusable(
            f"cannot write the run log {path} ({text})",
            hint="make it and its directory writable, or set AIGW_CACHE_DIR (or cache_dir in the config) "
                 "to a writable directory")
    if "locked" in low or "busy" in low:
        return errors.RunLogError(f"the run log {path} stayed locked for {BUSY_TIMEOUT_MS / 1000:g} s ({text})",
                                  hint="another aigw process is holding it; try again")
    if "full" in low or ("disk i/o" in low and _disk_nearly_full(path.parent)):
        # A full tmpfs fails SQLite's shared-memory file as "disk I/O error", not "database or disk is full".
        return errors.RunLogError(f"the run log {path} cannot grow: the disk is full",
                                  hint=f"free space on the disk that holds {path.parent}")
    return errors.RunLogError(f"the run log {path} failed: {text}", hint="run again with -v for the traceback")


def _disk_nearly_full(directory: Path) -> bool:
    try:
        info = os.statvfs(directory)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False
    return info.f_bavail * info.f_frsize < 1 << 20


class _Connection(sqlite3.Connection):
    """Every statement goes through execute(): errors are mapped here and nowhere else. Errors in
    our own SQL (IntegrityError, ProgrammingError) are bugs and stay as they are."""

    db_path: Path

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except (sqlite3.OperationalError, sqlite3.DatabaseError) as exc:
            if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
                raise
            raise run_log_error(self.db_path, exc) from exc

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return super().__exit__(*exc_info)
        except (sqlite3.OperationalError, sqlite3.DatabaseError) as exc:
            raise run_log_error(self.db_path, exc) from exc


def connect(path: Path) -> sqlite3.Connection:
    # The cache is private: its directory 0700, aigw.db 0600 (SQLite gives -wal and -shm the
    # database file's mode), whatever the umask.
    try:
        private_dirs(path.parent, path.parent)
        if not path.exists():
            create_private(path)
    except FileExistsError:
        pass  # another process created it first
    except OSError as exc:
        raise errors.RunLogUnusable(
            f"cannot create the run log {path} ({exc.strerror or exc})",
            hint="set AIGW_CACHE_DIR (or cache_dir in the config) to a writable directory") from exc
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False, factory=_Connection)
    except sqlite3.Error as exc:
        raise run_log_error(path, exc) from exc
    conn.db_path = path
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

    def abandon_group(self) -> None:
        """Roll back a group whose commit failed (the file rows must not outlive the files)."""
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except errors.RunLogError:
                pass  # SQLite rolls back by itself when it cannot commit

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
            " estimated_cost_usd, actual_cost_usd, served, possibly_billed, chunk)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (run_id, a.hop, a.provider, a.provider_model, a.model, a.started_at.isoformat(), a.latency_ms,
             a.http_status, a.failure_class, redact(a.error) if a.error else a.error, a.retry_after_s, a.waited_s, a.bytes_up, a.bytes_down,
             a.estimated_cost_usd, a.actual_cost_usd, int(a.served), int(a.possibly_billed), a.chunk),
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
            # Later updates add to what the submit recorded (status and cancel URLs stay). A run that
            # resumes a job an earlier run left owns it from then on: interrupted again, it is found
            # under the id of the run that last polled it.
            " details_json=json_patch(jobs.details_json, excluded.details_json), updated_at=excluded.updated_at,"
            " run_id=excluded.run_id",
            (run_id, provider, job_id, status, json.dumps(details, default=str), at.isoformat()),
        )

    def jobs_for(self, run_id: str) -> list[RecordedJob]:
        """The queue jobs a run recorded, in the order they were submitted (a row keeps its rowid when
        later statuses update it), each with its last status and everything reported with it: what a
        provider's `resume_image` / `resume_transcribe` needs to poll the job instead of paying again."""
        rows = self.conn.execute(
            "SELECT run_id, provider, job_id, status, details_json, updated_at FROM jobs WHERE run_id = ?"
            " ORDER BY rowid", (run_id,)).fetchall()
        out = []
        for run, provider, job_id, status, details, updated in rows:
            try:
                parsed = json.loads(details)
            except ValueError:
                parsed = {}  # a hand-edited row: the job is still named, and resuming it says what is missing
            out.append(RecordedJob(run_id=run, provider=provider, job_id=job_id, status=status,
                                   details=parsed if isinstance(parsed, dict) else {},
                                   updated_at=datetime.fromisoformat(updated)))
        return out

    def finish_run(self, result: RunResult) -> None:
        self.conn.execute(
            "UPDATE runs SET status='ok', model=?, provider=?, provider_model=?, cost_usd=?, latency_ms=?,"
            " exit_code=0, result_json=? WHERE id=?",
            (result.model, result.provider, result.provider_model, result.cost_usd, result.latency_ms,
             result.model_dump_json(), result.id),
        )

    def relocate_files(self, run_id: str, moved: list[tuple[Path | None, Path, int, str]],
                       created_at: datetime) -> None:
        """A result that is not where its row says (or has no row yet): (old path or None, where it
        is now, size, sha256)."""
        for old, new, size, sha256 in moved:
            if old is not None:
                self.conn.execute("DELETE FROM files WHERE run_id = ? AND path = ?", (run_id, str(old)))
            self.record_file(run_id, new, size, sha256, created_at)

    def record_delivery(self, run_id: str, *, exit_code: int | None, error: str, lost: bool = False) -> None:
        """A served run whose result did not reach where it was asked for: `status` stays 'ok' (the
        provider served and was paid) unless nothing was kept at all. `exit_code` None keeps the
        one already recorded (a run that failed for another reason). A run still 'running' is one
        whose end could not be committed with its result: it ends here."""
        self.conn.execute(
            "UPDATE runs SET exit_code = COALESCE(?1, exit_code), delivery_error = ?2, status = CASE"
            " WHEN ?3 THEN 'failed' WHEN status = 'running' AND ?1 IS NOT NULL THEN 'ok' ELSE status END"
            " WHERE id = ?4", (exit_code, error, int(lost), run_id))

    def fail_run(self, run_id: str, *, exit_code: int, error: str) -> None:
        self.conn.execute(
            "UPDATE runs SET status='failed', exit_code=?, error=? WHERE id=?", (exit_code, redact(error), run_id)
        )

    def interrupt_run(self, run_id: str, *, exit_code: int, error: str) -> None:
        """Ended by a signal (Ctrl-C, SIGTERM, SIGHUP): status `interrupted`."""
        self.conn.execute(
            "UPDATE runs SET status='interrupted', exit_code=?, error=? WHERE id=?", (exit_code, error, run_id)
        )

    def spent_since(self, since: datetime) -> float:
        """Money spent since a moment: served attempts (an unknown cost counts its estimate) and failed
        ones that were charged all the same (an unusable transcript: its actual cost)."""
        row = self.conn.execute(
            "SELECT COALESCE(SUM(COALESCE(actual_cost_usd, estimated_cost_usd, 0)), 0) FROM attempts"
            " WHERE (served = 1 OR actual_cost_usd IS NOT NULL) AND started_at >= ?",
            (since.isoformat(),),
        ).fetchone()
        return float(row[0])

    def runs(self) -> list[sqlite3.Row]:
        self.conn.row_factory = sqlite3.Row
        try:
            return list(self.conn.execute("SELECT * FROM runs ORDER BY id"))
        finally:
            self.conn.row_factory = None
