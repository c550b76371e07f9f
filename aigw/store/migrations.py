"""The run log's schema, grown only by appending named migrations; applied names are recorded."""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[tuple[str, str]] = [
    (
        "m001_runs_and_attempts",
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            created_at TEXT NOT NULL,
            status TEXT NOT NULL,            -- running | ok | failed
            requested_model TEXT NOT NULL,
            model TEXT,
            provider TEXT,
            provider_model TEXT,
            estimated_cost_usd REAL,
            cost_usd REAL,
            latency_ms REAL,
            exit_code INTEGER,
            error TEXT,
            request_json TEXT NOT NULL,
            result_json TEXT
        );
        CREATE INDEX runs_created ON runs(created_at);
        CREATE TABLE attempts (
            run_id TEXT NOT NULL REFERENCES runs(id),
            hop INTEGER NOT NULL,
            provider TEXT NOT NULL,
            provider_model TEXT NOT NULL,
            model TEXT NOT NULL,
            started_at TEXT NOT NULL,
            latency_ms REAL NOT NULL,
            http_status INTEGER,
            failure_class TEXT,
            error TEXT,
            retry_after_s REAL,
            waited_s REAL NOT NULL DEFAULT 0,
            bytes_up INTEGER NOT NULL DEFAULT 0,
            bytes_down INTEGER NOT NULL DEFAULT 0,
            estimated_cost_usd REAL,
            actual_cost_usd REAL,
            served INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, hop)
        );
        CREATE INDEX attempts_provider ON attempts(provider, started_at);
        """,
    ),
    (
        "m002_result_files",
        """
        CREATE TABLE files (
            run_id TEXT NOT NULL REFERENCES runs(id),
            path TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX files_run ON files(run_id);
        """,
    ),
    (
        "m003_provider_jobs",
        """
        CREATE TABLE jobs (
            run_id TEXT NOT NULL REFERENCES runs(id),
            provider TEXT NOT NULL,
            job_id TEXT NOT NULL,
            status TEXT NOT NULL,
            details_json TEXT NOT NULL DEFAULT '{}',
            updated_at TEXT NOT NULL,
            PRIMARY KEY (provider, job_id)
        );
        CREATE INDEX jobs_run ON jobs(run_id);
        """,
    ),
    (
        "m004_circuits_and_rate_slots",
        """
        CREATE TABLE circuits (
            provider TEXT PRIMARY KEY,
            failures INTEGER NOT NULL DEFAULT 0,    -- consecutive failures
            opened_at REAL,                         -- unix time, NULL when closed
            open_until REAL,                        -- unix time the half-open trial may start
            last_error TEXT
        );
        CREATE TABLE rate_slots (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            provider TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at REAL NOT NULL,               -- unix time the request was let through
            expires_at REAL NOT NULL,               -- in flight until released or this time passes
            released_at REAL
        );
        CREATE INDEX rate_slots_provider ON rate_slots(provider, started_at);
        CREATE TABLE routing_counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        """,
    ),
    (
        # Why a served run's result did not reach where it was asked for: -o not written (exit 7),
        # kept outside the cache (9) or not kept at all (10). NULL when it was delivered.
        "m005_run_delivery_error",
        "ALTER TABLE runs ADD COLUMN delivery_error TEXT",
    ),
    (
        "m006_attempts_possibly_billed",
        """
        -- 1: the attempt timed out after its request went out, so its estimate may still be charged
        ALTER TABLE attempts ADD COLUMN possibly_billed INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    (
        # Who holds a run or a slot (owner token "pid:start:boot", see store/owner.py), so that the
        # next aigw can tell a run or a slot left behind by a killed process and free it. A run
        # ended by a signal, or found left behind, gets status 'interrupted'.
        "m007_crash_run_owner",
        """
        ALTER TABLE runs ADD COLUMN owner TEXT;
        CREATE INDEX runs_running ON runs(status) WHERE status = 'running';
        ALTER TABLE rate_slots ADD COLUMN owner TEXT;
        """,
    ),
    (
        # Batches (`--batch`, several files): the input's fingerprint finds the batch to resume; each
        # item records the run id it was given before anything was sent, so a batch resumed after a
        # crash finds what that run did (served, failed, a queue job left running) instead of paying
        # again. status: pending | running | ok | failed | malformed (items); running | done |
        # stopped | interrupted (batches).
        "m008_batches",
        """
        CREATE TABLE batches (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,                     -- image | audio
            fingerprint TEXT NOT NULL,              -- sha256 of the input's content, kind and defaults
            argv_json TEXT NOT NULL,                -- the command line that made it
            created TEXT NOT NULL,
            status TEXT NOT NULL
        );
        CREATE INDEX batches_fingerprint ON batches(fingerprint, created);
        CREATE TABLE batch_items (
            batch_id TEXT NOT NULL REFERENCES batches(id),
            line INTEGER NOT NULL,
            item_id TEXT,
            request_json TEXT NOT NULL,
            run_id TEXT,                            -- the latest run of this item
            status TEXT NOT NULL,
            exit_code INTEGER,
            error TEXT,
            PRIMARY KEY (batch_id, line)
        );
        CREATE INDEX batch_items_run ON batch_items(run_id);
        """,
    ),
    (
        # Full-text search for `aigw logs --search`: prompts, input file names and transcripts.
        # Triggers keep it in step with `runs` whoever writes the run log; a run's transcript is
        # added as its own row when the run's result is recorded (so nothing is updated in place).
        "m009_logs_search",
        """
        CREATE VIRTUAL TABLE runs_search USING fts5(
            run_id UNINDEXED, prompt, input, transcript, tokenize = 'unicode61 remove_diacritics 2'
        );
        INSERT INTO runs_search (run_id, prompt, input)
            SELECT id, json_extract(request_json, '$.prompt'), json_extract(request_json, '$.file')
            FROM runs WHERE json_valid(request_json);
        INSERT INTO runs_search (run_id, transcript)
            SELECT id, json_extract(result_json, '$.text') FROM runs
            WHERE json_valid(result_json) AND json_extract(result_json, '$.text') IS NOT NULL;
        CREATE TRIGGER runs_search_started AFTER INSERT ON runs WHEN json_valid(new.request_json) BEGIN
            INSERT INTO runs_search (run_id, prompt, input) VALUES (new.id,
                json_extract(new.request_json, '$.prompt'), json_extract(new.request_json, '$.file'));
        END;
        CREATE TRIGGER runs_search_finished AFTER UPDATE OF result_json ON runs
            WHEN new.result_json IS NOT old.result_json AND json_valid(new.result_json)
                 AND json_extract(new.result_json, '$.text') IS NOT NULL BEGIN
            INSERT INTO runs_search (run_id, transcript) VALUES (new.id, json_extract(new.result_json, '$.text'));
        END;
        CREATE TRIGGER runs_search_removed AFTER DELETE ON runs BEGIN
            DELETE FROM runs_search WHERE run_id = old.id;
        END;
        -- `aigw logs --for FILE`: a result by its path, or a copy of it by its content
        CREATE INDEX files_path ON files(path);
        CREATE INDEX files_sha256 ON files(sha256);
        """,
    ),
    (
        # The result cache (store/cache): the entry directories under <cache>/cache/ are what is
        # served (each verified against its manifest); this table mirrors them for SQL (`aigw logs`,
        # `aigw stats`). A run answered from the cache names the run it came from in cache_hit_of.
        "m010_result_cache",
        """
        CREATE TABLE cache_entries (
            key TEXT PRIMARY KEY,                   -- sha256 of the canonical request
            kind TEXT NOT NULL,
            model TEXT NOT NULL,
            provider TEXT NOT NULL,
            source_run_id TEXT NOT NULL,            -- the paid run whose result it holds
            created_at TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            hits INTEGER NOT NULL DEFAULT 0,
            last_hit_at TEXT
        );
        CREATE INDEX cache_entries_source ON cache_entries(source_run_id);
        ALTER TABLE runs ADD COLUMN cache_hit_of TEXT;
        CREATE INDEX runs_cache_hit_of ON runs(cache_hit_of) WHERE cache_hit_of IS NOT NULL;
        """,
    ),
    (
        # A long recording is sent as chunks, requests of one run. Each finished chunk is kept with
        # its transcript (times from the chunk's own start), so `--resume` sends only the missing
        # ones; `status` is 'done' (transcribed in this run) or 'reused' (taken from the interrupted
        # run it resumes). An attempt made for a chunk names it in `attempts.chunk`.
        "m011_chunks",
        """
        CREATE TABLE chunks (
            run_id TEXT NOT NULL REFERENCES runs(id),
            idx INTEGER NOT NULL,
            offset_s REAL NOT NULL,
            own_start_s REAL NOT NULL,
            end_s REAL NOT NULL,
            bytes INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            status TEXT NOT NULL,
            provider TEXT,
            model TEXT,
            cost_usd REAL,
            result_json TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (run_id, idx)
        );
        ALTER TABLE attempts ADD COLUMN chunk INTEGER;
        """,
    ),
    (
        # Indexing a prompt as its run starts cost more than the rest of the `running` row (a new
        # FTS5 segment per commit, ~40 us of every run's ~1 ms of overhead). A new run now only
        # notes its id; `aigw logs --search` indexes what is pending first (store/history.py).
        # Transcripts are still indexed as their run ends, and only audio runs pay for the check.
        "m012_search_on_demand",
        """
        DROP TRIGGER runs_search_started;
        DROP TRIGGER runs_search_finished;
        CREATE TABLE search_pending (run_id TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TRIGGER runs_search_started AFTER INSERT ON runs BEGIN
            INSERT OR IGNORE INTO search_pending (run_id) VALUES (new.id);
        END;
        CREATE TRIGGER runs_search_finished AFTER UPDATE OF result_json ON runs
            WHEN new.kind = 'audio' AND new.result_json IS NOT old.result_json AND json_valid(new.result_json)
                 AND json_extract(new.result_json, '$.text') IS NOT NULL BEGIN
            INSERT INTO runs_search (run_id, transcript) VALUES (new.id, json_extract(new.result_json, '$.text'));
        END;
        DROP TRIGGER runs_search_removed;
        CREATE TRIGGER runs_search_removed AFTER DELETE ON runs BEGIN
            DELETE FROM runs_search WHERE run_id = old.id;
            DELETE FROM search_pending WHERE run_id = old.id;
        END;
        """,
    ),
]


def statements(sql: str) -> list[str]:
    """The script's statements. A trigger's body holds semicolons of its own, so pieces are joined
    until SQLite says the statement is complete."""
    out, pending = [], ""
    for piece in sql.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            out.append(pending)
            pending = ""
    return [s for s in [*out, pending] if not _blank(s)]


def _blank(sql: str) -> bool:
    """Only whitespace, semicolons and -- comments."""
    return all(not line.strip(" ;\t") or line.strip().startswith("--") for line in sql.splitlines())


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply what is missing, each in its own transaction; return the names applied now."""
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    done = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            # Another process may have applied it while we waited for the lock.
            if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
                continue
            for statement in statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", (name,))
        applied.append(name)
    return applied
