"""The run log read back: the search index a migration fills and triggers keep, cache hits with
or without the cache's column, and the pure figures `aigw stats` prints."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from aigw.errors import UsageError
from aigw.store.history import Filters, History, match_query
from aigw.store.migrations import MIGRATIONS, migrate, statements
from aigw.store.stats import parse_since, percentile, summarise

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def run_row(conn: sqlite3.Connection, run_id: str, *, kind: str = "image", request: dict | None = None,
            result: dict | None = None, cost: float | None = None, status: str = "ok") -> None:
    conn.execute("INSERT INTO runs (id, kind, created_at, status, requested_model, request_json, cost_usd)"
                 " VALUES (?, ?, ?, ?, 'm', ?, ?)",
                 (run_id, kind, NOW.isoformat(), status, json.dumps(request or {}), cost))
    if result is not None:
        conn.execute("UPDATE runs SET result_json = ? WHERE id = ?", (json.dumps(result), run_id))


def before_search(tmp_path) -> sqlite3.Connection:
    """A run log as aigw left it before m009_logs_search."""
    conn = sqlite3.connect(tmp_path / "aigw.db", isolation_level=None)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, sql in MIGRATIONS:
        if name >= "m009":
            break
        for statement in statements(sql):
            conn.execute(statement)
        conn.execute("INSERT INTO _migrations VALUES (?, 'then')", (name,))
    return conn


def found(conn: sqlite3.Connection, text: str) -> list[str]:
    return [r.id for r in History(conn).runs(Filters(search=text))]


def test_the_migration_indexes_the_runs_already_logged_and_triggers_keep_it(tmp_path):
    conn = before_search(tmp_path)
    run_row(conn, "r1", request={"prompt": "a red apple on a table"})
    run_row(conn, "r2", kind="audio", request={"file": "/home/me/talks/budget-q3.mp3", "prompt": None},
            result={"text": "the quarterly budget is approved"})
    assert "m009_logs_search" in migrate(conn)
    assert found(conn, "apple") == ["r1"] and found(conn, "quarterly approved") == ["r2"]
    assert found(conn, "budget") == ["r2"]  # the file name and the transcript: one run, once
    assert found(conn, "q3.mp3") == ["r2"] and found(conn, "pear") == []
    run_row(conn, "r3", kind="audio", request={"file": "/x/standup.wav"})
    assert found(conn, "standup") == ["r3"] and found(conn, "blockers") == []
    conn.execute("UPDATE runs SET result_json = ? WHERE id = 'r3'", (json.dumps({"text": "no blockers today"}),))
    assert found(conn, "blockers") == ["r3"]
    conn.execute("DELETE FROM runs WHERE id = 'r3'")
    assert conn.execute("SELECT count(*) FROM runs_search WHERE run_id = 'r3'").fetchone() == (0,)


def test_a_starting_run_only_notes_its_id_and_a_search_indexes_what_is_pending(tmp_path):
    conn = before_search(tmp_path)
    migrate(conn)
    run_row(conn, "r1", request={"prompt": "a lighthouse at dusk"})
    run_row(conn, "r2", request={"prompt": "a lighthouse at noon"})
    pending = lambda: [r[0] for r in conn.execute("SELECT run_id FROM search_pending ORDER BY run_id")]  # noqa: E731
    assert pending() == ["r1", "r2"]
    assert conn.execute("SELECT count(*) FROM runs_search").fetchone() == (0,)  # nothing indexed on the way
    conn.execute("DELETE FROM runs WHERE id = 'r2'")  # deleted before any search: never indexed
    assert pending() == ["r1"]
    assert found(conn, "lighthouse") == ["r1"] and pending() == []
    run_row(conn, "r3", request={"prompt": "a lighthouse in fog"})
    assert found(conn, "lighthouse") == ["r3", "r1"]  # newest first, each once
    assert conn.execute("SELECT count(*) FROM runs_search").fetchone() == (2,)



def test_a_run_log_that_cannot_be_written_is_still_searched_whole(tmp_path):
    """`aigw logs` reads a run log it cannot write (a read-only file or mount, another user's cache);
    so did `--search` before m012. Runs still pending for the index are found all the same, and
    the search does not fail for want of writing the index."""
    from aigw.store.db import _Connection

    conn = before_search(tmp_path)
    migrate(conn)
    run_row(conn, "r1", request={"prompt": "a lighthouse at dusk"})
    assert found(conn, "lighthouse") == ["r1"]  # indexed
    run_row(conn, "r2", request={"prompt": "a lighthouse at noon"})  # pending
    conn.close()
    ro = sqlite3.connect(f"file:{tmp_path / 'aigw.db'}?mode=ro", uri=True, isolation_level=None,
                         factory=_Connection)
    ro.db_path = tmp_path / "aigw.db"  # what aigw's connections carry, for their error messages
    try:
        assert found(ro, "lighthouse") == ["r2", "r1"]
        assert found(ro, "dusk") == ["r1"]
    finally:
        ro.close()

def test_search_text_is_never_query_syntax(tmp_path):
    conn = before_search(tmp_path)
    migrate(conn)
    run_row(conn, "r1", request={"prompt": 'gpt-image-2 said "hi": NOT (a) OR b*'})
    for text in ('"hi"', "NOT", "gpt-image-2", "said:", "(a)", "b*", "OR"):
        assert found(conn, text) == ["r1"], text
    assert match_query('say "x"') == '"say"* """x"""*'
    with pytest.raises(UsageError):
        match_query("   ")


def test_statements_keep_a_trigger_body_whole():
    script = "CREATE TABLE t (a); CREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT 1; SELECT 2; END; -- done;\n"
    parts = statements(script)
    assert len(parts) == 2 and parts[1].strip().startswith("CREATE TRIGGER") and "SELECT 2;" in parts[1]


def test_cache_hits_with_the_cache_column_or_only_its_flag(tmp_path, monkeypatch):
    import aigw.store.migrations as migrations

    conn = before_search(tmp_path)
    # a log as it was before m010_result_cache added the column
    monkeypatch.setattr(migrations, "MIGRATIONS", [m for m in MIGRATIONS if m[0] < "m010"])
    migrations.migrate(conn)
    run_row(conn, "paid", cost=0.04)
    run_row(conn, "flagged", cost=0.0, result={"cache_hit": True})
    runs = History(conn).runs(Filters())
    assert {r.id: r.cache_hit for r in runs} == {"paid": False, "flagged": True}
    assert summarise(runs)["cache_hits"] == 1
    conn.execute("ALTER TABLE runs ADD COLUMN cache_hit_of TEXT")  # what m010_result_cache adds
    run_row(conn, "hit", cost=0.0)
    conn.execute("UPDATE runs SET cache_hit_of = 'paid' WHERE id = 'hit'")
    runs = History(conn).runs(Filters())
    hit = next(r for r in runs if r.id == "hit")
    assert hit.cache_hit and hit.cache_of == "paid" and hit.saved_usd == 0.04
    figures = summarise(runs)  # with the column, it alone says which runs were hits
    assert figures["cache_hits"] == 1 and figures["cache_saved_usd"] == 0.04


def test_percentiles_are_measured_values_by_nearest_rank():
    values = [float(v) for v in range(1, 21)]
    assert percentile(values, 0.5) == 10.0 and percentile(values, 0.95) == 19.0
    assert percentile([7.0], 0.95) == 7.0 and percentile([], 0.5) is None


def test_since_reads_ages_dates_and_times():
    assert parse_since("2h", NOW) == NOW - timedelta(hours=2)
    assert parse_since("7d", NOW) == NOW - timedelta(days=7)
    assert parse_since("2026-12-01", NOW) == datetime(2026, 12, 1).astimezone()
    assert parse_since("2026-12-01T10:00:00+00:00", NOW) == datetime(2026, 12, 1, 10, tzinfo=timezone.utc)
    for bad in ("yesterday", "2x", "", "-1d"):
        with pytest.raises(UsageError):
            parse_since(bad, NOW)


def test_a_line_fits_the_terminal_and_a_pipe_gets_it_whole(tmp_path):
    from aigw.cli.log_view import line

    conn = before_search(tmp_path)
    migrate(conn)
    prompt = "a very long prompt about a lighthouse at dusk\twith\nbreaks " * 5
    run_row(conn, "r1", request={"prompt": prompt}, cost=0.04)
    (run,) = History(conn).runs(Filters())
    whole, short = line(run), line(run, width=120)
    assert "\t" not in whole and "\n" not in whole and "lighthouse at dusk with breaks" in whole
    assert len(short) <= 120 and "…" in short and short.startswith(whole[:40])
    assert "$0.04" in whole and "image" in whole and whole.endswith("  -")  # no result file
