"""Reading the run log back: runs with their attempts, files and jobs, filtered, searched, or found
from a result file. It writes only the search index, which a search brings up to date first;
`aigw logs` and `aigw stats` are built on it."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aigw import errors
from aigw.store import provenance

FAILED = ("failed", "interrupted")
CHUNK = 500  # ids per IN (...): well under SQLite's oldest limit of 999 parameters


@dataclass(frozen=True)
class Filters:
    kind: str | None = None
    model: str | None = None  # served or asked for
    provider: str | None = None  # tried at any hop
    failed: bool = False  # failed, interrupted, or served but not delivered (exit code not 0)
    since: datetime | None = None  # aware
    search: str | None = None
    with_files: bool = False  # only runs that left a result file
    limit: int | None = None  # None: every run


@dataclass
class LoggedRun:
    row: dict[str, Any]  # the `runs` row as it is (request_json and result_json still text)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)  # with `exists`: is it still on disk
    jobs: list[dict[str, Any]] = field(default_factory=list)
    saved_usd: float = 0.0  # for a cache hit: what the run it came from cost
    has_cache_column: bool = False  # the log has runs.cache_hit_of (migration m010_result_cache)

    @property
    def id(self) -> str:
        return str(self.row["id"])

    # Parsed on first use: `aigw stats` over a long window needs neither, and parsing is most of its time.
    @cached_property
    def request(self) -> dict[str, Any]:
        return _json(self.row.get("request_json")) or {}

    @cached_property
    def result(self) -> dict[str, Any] | None:
        return _json(self.row.get("result_json"))

    @property
    def cache_of(self) -> str | None:
        """The paid run a cache hit was answered from (runs.cache_hit_of), else None."""
        if self.has_cache_column:
            return self.row.get("cache_hit_of")
        return (self._cache_flags() or {}).get("cache_of")

    @property
    def cache_hit(self) -> bool:
        if self.has_cache_column:
            return self.row.get("cache_hit_of") is not None
        flags = self._cache_flags() or {}
        return bool(flags.get("cache_of") or flags.get("cache_hit"))

    def _cache_flags(self) -> dict[str, Any] | None:
        """The result, when its text can hold a cache key at all (most cannot: no parse needed)."""
        return self.result if '"cache_' in (self.row.get("result_json") or "") else None


# The runs waiting to be indexed, as rows of the search index.
_PENDING = ("SELECT r.id, json_extract(r.request_json, '$.prompt'), json_extract(r.request_json, '$.file')"
            " FROM search_pending p JOIN runs r ON r.id = p.run_id WHERE json_valid(r.request_json)")


def match_query(text: str) -> str:
    """What the user typed as an FTS5 query: each word a quoted prefix, all of them required, so
    that punctuation (a path, `gpt-image-2`) is text to find, never query syntax."""
    words = text.split()
    if not words:
        raise errors.UsageError("--search needs some text", hint='aigw logs --search "red apple"')
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


class History:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.columns = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
        self.tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}

    def runs(self, filters: Filters) -> list[LoggedRun]:
        """Newest first."""
        where, params = self._where(filters)
        limit = "" if filters.limit is None else f" LIMIT {int(filters.limit)}"
        rows = self._select(f"SELECT * FROM runs{where} ORDER BY created_at DESC, id DESC{limit}", params)
        return self._complete(rows)

    def get(self, run_id: str) -> LoggedRun:
        """A run by its id or a unique prefix of it."""
        found = [r[0] for r in self.conn.execute(
            "SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1 ORDER BY id DESC LIMIT 6", (run_id,))]
        if not found:
            raise errors.UsageError(f"no run {run_id} in the run log", hint="'aigw logs' lists the runs")
        if len(found) > 1 and run_id not in found:
            raise errors.UsageError(f"{run_id} is the start of several runs: {', '.join(found[:5])}",
                                    hint="give more of the run id")
        chosen = run_id if run_id in found else found[0]
        return self._complete(self._select("SELECT * FROM runs WHERE id = ?", (chosen,)))[0]

    def made(self, path: Path) -> tuple[LoggedRun | None, dict[str, str]]:
        """The run that made a file: by its path, else by its bytes' sha256 (a copy of a result),
        else by the run id embedded in it or in its sidecar. Also returns the fields the file itself
        carries ({} when none), which is all there is when the run log no longer has the run."""
        absolute = os.path.abspath(path)
        candidates = [absolute, os.path.realpath(absolute)]
        row = self.conn.execute(
            "SELECT run_id FROM files WHERE path IN (?, ?) ORDER BY created_at DESC LIMIT 1", candidates).fetchone()
        data = _read(path)
        if row is None and data is not None:
            row = self.conn.execute("SELECT run_id FROM files WHERE sha256 = ? ORDER BY created_at DESC LIMIT 1",
                                    (hashlib.sha256(data).hexdigest(),)).fetchone()
        carried = provenance.read_fields(data) if data is not None else {}
        if not carried:
            side = _read(Path(absolute + ".json"))
            carried = provenance.read_fields(side) if side is not None else {}
        if row is None and carried.get("run_id"):
            row = self.conn.execute("SELECT id FROM runs WHERE id = ?", (carried["run_id"],)).fetchone()
        if row is None:
            return None, carried
        return self.get(row[0]), carried

    # ---- internals ------------------------------------------------------------------------------

    def _where(self, f: Filters) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if f.kind:
            clauses.append("kind = ?")
            params.append(f.kind)
        if f.model:
            clauses.append("(model = ? OR requested_model = ?)")
            params += [f.model, f.model]
        if f.provider:
            clauses.append("(provider = ? OR id IN (SELECT run_id FROM attempts WHERE provider = ?))")
            params += [f.provider, f.provider]
        if f.failed:
            clauses.append("(status IN ('failed', 'interrupted') OR COALESCE(exit_code, 0) != 0)")
        if f.since is not None:
            clauses.append("created_at >= ?")  # ISO 8601 in UTC: text order is time order
            params.append(f.since.astimezone(timezone.utc).isoformat())
        if f.with_files:
            clauses.append("id IN (SELECT run_id FROM files)")
        if f.search is not None:
            query = match_query(f.search)
            if self._index_pending():
                clauses.append("id IN (SELECT run_id FROM runs_search WHERE runs_search MATCH ?)")
                params.append(query)
            else:  # a log this process cannot write: what is pending is searched from a private copy
                clauses.append("(id IN (SELECT run_id FROM runs_search WHERE runs_search MATCH ?)"
                               " OR id IN (SELECT run_id FROM temp.pending_search WHERE pending_search MATCH ?))")
                params += [query, query]
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), params

    def _index_pending(self) -> bool:
        """Index the prompts and input names of the runs logged since the last search (a run only
        notes its id as it starts: indexing then would cost every run; see m012_search_on_demand).
        False when the log cannot be written (read-only, locked, full): what is pending is then
        indexed into a temporary table of this connection only, for this search."""
        if "search_pending" not in self.tables:
            return True  # the log predates m012: its triggers indexed every run as it started
        if self.conn.execute("SELECT 1 FROM search_pending LIMIT 1").fetchone() is None:
            return True
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.execute(f"INSERT INTO runs_search (run_id, prompt, input) {_PENDING}")
                self.conn.execute("DELETE FROM search_pending")
                self.conn.execute("COMMIT")
            finally:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
            return True
        except errors.RunLogError:
            self.conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.pending_search USING fts5("
                              "run_id UNINDEXED, prompt, input, tokenize = 'unicode61 remove_diacritics 2')")
            self.conn.execute("DELETE FROM temp.pending_search")
            self.conn.execute(f"INSERT INTO temp.pending_search (run_id, prompt, input) {_PENDING}")
            return False

    def _select(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, values)) for values in cursor.fetchall()]

    def _by_run(self, sql: str, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            marks = ",".join("?" * len(part))
            for row in self._select(sql.format(marks=marks), part):
                grouped[row["run_id"]].append(row)
        return grouped

    def _complete(self, rows: list[dict[str, Any]]) -> list[LoggedRun]:
        ids = [r["id"] for r in rows]
        attempts = self._by_run("SELECT * FROM attempts WHERE run_id IN ({marks}) ORDER BY run_id, hop", ids)
        files = self._by_run("SELECT * FROM files WHERE run_id IN ({marks}) ORDER BY run_id, path", ids)
        jobs = self._by_run("SELECT run_id, provider, job_id, status, updated_at FROM jobs"
                            " WHERE run_id IN ({marks}) ORDER BY run_id, updated_at", ids)
        out = []
        sources = self._source_costs([r for r in rows if r.get("cache_hit_of")])
        for row in rows:
            for f in files[row["id"]]:
                f["exists"] = os.path.isfile(f["path"])
            run = LoggedRun(row, attempts[row["id"]], files[row["id"]], jobs[row["id"]],
                            has_cache_column="cache_hit_of" in self.columns)
            if run.cache_of is not None:
                run.saved_usd = sources.get(run.cache_of) or 0.0
            out.append(run)
        return out

    def _source_costs(self, hits: list[dict[str, Any]]) -> dict[str, float | None]:
        """What the runs that cache hits came from cost (their estimate when the cost is unknown)."""
        ids = sorted({r["cache_hit_of"] for r in hits})
        costs: dict[str, float | None] = {}
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            for run_id, cost in self.conn.execute(
                    f"SELECT id, COALESCE(cost_usd, estimated_cost_usd) FROM runs WHERE id IN ({','.join('?' * len(part))})",
                    part):
                costs[run_id] = cost
        return costs


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None

