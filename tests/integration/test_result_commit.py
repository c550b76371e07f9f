"""A paid result and its log rows in one step, and run-log failures as one line: in-process, with
the failure put exactly where the order matters."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from aigw import errors
from aigw.store import db
from tests.helpers import db_rows

IMG = ("generate", "a pear", "-m", "gpt-image-2")


def _results(cache_dir: Path) -> list[Path]:
    root = cache_dir / "results"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
def rescue_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))  # the rescue place is $TMPDIR, else /tmp (README)
    return tmp / f"aigw-rescue-{os.getuid()}"


def test_the_log_knows_the_file_before_it_is_visible(cli, fake_openai, cache_dir, monkeypatch):
    real = os.replace
    seen: list[tuple[list[str], list[str], list[int]]] = []

    def watching(src, dst, *a, **kw):
        if Path(dst).is_relative_to(cache_dir / "results"):
            other = sqlite3.connect(cache_dir / "aigw.db")  # another process's view: committed rows only
            try:
                seen.append(([r[0] for r in other.execute("SELECT path FROM files")],
                             [r[0] for r in other.execute("SELECT status FROM runs")],
                             [r[0] for r in other.execute("SELECT served FROM attempts")]))
            finally:
                other.close()
            assert not Path(dst).exists()
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", watching)
    r = cli(*IMG)
    assert r.code == 0, r.stderr
    final = r.stdout.strip()
    assert seen == [([final], ["ok"], [1])]
    assert Path(final).is_file() and Path(final).stat().st_mode & 0o777 == 0o600


def test_a_rename_that_fails_after_the_commit_moves_the_row_to_the_rescued_file(
        cli, fake_openai, cache_dir, monkeypatch, rescue_tmp):
    real = os.replace

    def failing(src, dst, *a, **kw):
        if Path(dst).is_relative_to(cache_dir / "results"):
            raise OSError(28, "No space left on device", str(dst))
        return real(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", failing)
    r = cli(*IMG)
    assert r.code == 9, r.stderr
    kept = list(rescue_tmp.iterdir())
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"\x89PNG")
    assert _results(cache_dir) == []  # no visible file, no .part left
    assert [row["path"] for row in db_rows(cache_dir, "SELECT path FROM files")] == [str(kept[0])]
    run = db_rows(cache_dir, "SELECT * FROM runs")[0]
    assert run["exit_code"] == 9 and "No space left" in run["delivery_error"]


def test_a_commit_that_fails_leaves_no_file_the_log_does_not_know(cli, fake_openai, cache_dir, monkeypatch,
                                                                   rescue_tmp):
    from aigw.store.db import RunLog

    real = RunLog.end_group
    calls = {"n": 0}

    def failing(self):
        if self.conn.in_transaction and calls["n"] == 0:
            calls["n"] += 1
            raise db.run_log_error(self.path, sqlite3.OperationalError("database or disk is full"))
        return real(self)

    monkeypatch.setattr(RunLog, "end_group", failing)
    r = cli(*IMG)
    assert r.code == 9, r.stderr
    assert "disk is full" in r.stderr
    assert _results(cache_dir) == []
    assert db_rows(cache_dir, "SELECT path FROM files WHERE path LIKE ?", str(cache_dir) + "%") == []
    assert len(list(rescue_tmp.iterdir())) == 1
    run = db_rows(cache_dir, "SELECT * FROM runs")[0]
    assert (run["status"], run["exit_code"]) == ("ok", 9)  # its end is logged once the log works again


# ---- the run log's own failures: one line naming the file and the fix -----------------------------


def test_a_corrupt_run_log_is_exit_3_with_how_to_move_it_aside(cli, fake_openai, cache_dir):
    cache_dir.mkdir(parents=True)
    (cache_dir / "aigw.db").write_bytes(b"this is not sqlite" * 300)
    r = cli(*IMG)
    assert r.code == 3, r.stderr
    path = cache_dir / "aigw.db"
    assert f"mv {path} {path}.bad" in r.stderr and "Traceback" not in r.stderr and "unexpected" not in r.stderr
    assert len([line for line in r.stderr.splitlines() if line.startswith("aigw: error")]) == 1
    assert fake_openai.count() == 0


def test_a_run_log_that_cannot_be_opened_is_exit_3(cli, fake_openai, cache_dir):
    (cache_dir / "aigw.db").mkdir(parents=True)
    r = cli(*IMG)
    assert r.code == 3, r.stderr
    assert str(cache_dir / "aigw.db") in r.stderr and "unexpected" not in r.stderr
    assert fake_openai.count() == 0


def test_a_run_log_locked_past_the_busy_timeout_is_one_line(cli, fake_openai, cache_dir, monkeypatch):
    assert cli(*IMG).code == 0
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)
    holder = sqlite3.connect(cache_dir / "aigw.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        r = cli(*IMG)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.code == 1, r.stderr
    assert "stayed locked" in r.stderr and str(cache_dir / "aigw.db") in r.stderr
    assert "unexpected" not in r.stderr
    assert fake_openai.count("/images/generations") == 1  # the locked run sent nothing


@pytest.mark.parametrize(("message", "cls", "needle"), [
    ("database or disk is full", errors.RunLogError, "disk is full"),
    ("attempt to write a readonly database", errors.RunLogUnusable, "AIGW_CACHE_DIR"),
    ("database disk image is malformed", errors.RunLogUnusable, ".bad"),
])
def test_sqlite_errors_map_to_one_line_with_the_fix(message, cls, needle, tmp_path):
    exc = db.run_log_error(tmp_path / "aigw.db", sqlite3.OperationalError(message))
    assert type(exc) is cls and str(tmp_path / "aigw.db") in exc.message + (exc.hint or "")
    assert needle in exc.message + (exc.hint or "")


def _locked(self, *args, **kwargs):
    raise db.run_log_error(self.path, sqlite3.OperationalError("database is locked"))


def test_a_log_failure_after_the_rows_are_in_still_puts_the_result_in_place(cli, fake_openai, cache_dir,
                                                                             monkeypatch):
    from aigw.store.db import RunLog

    monkeypatch.setattr(RunLog, "add_attempt", _locked)  # the served attempt cannot be logged
    r = cli(*IMG)
    assert r.code == 1 and "stayed locked" in r.stderr
    kept = _results(cache_dir)
    assert len(kept) == 1 and kept[0].name.endswith(".png") and not kept[0].name.startswith(".")
    assert [row["path"] for row in db_rows(cache_dir, "SELECT path FROM files")] == [str(kept[0])]


def test_a_log_failure_before_the_rows_are_in_sends_the_result_to_the_rescue_dir(
        cli, fake_openai, cache_dir, monkeypatch, rescue_tmp):
    from aigw.store.db import RunLog

    real, calls = RunLog.begin_group, []

    def once(self):  # locked while the result arrives, free again by the time it is rescued
        calls.append(1)
        return _locked(self) if len(calls) == 1 else real(self)

    monkeypatch.setattr(RunLog, "begin_group", once)
    r = cli(*IMG)
    assert r.code == 1 and "stayed locked" in r.stderr
    assert _results(cache_dir) == []  # no file the log does not know, no .part
    kept = list(rescue_tmp.iterdir())
    assert len(kept) == 1 and str(kept[0]) in r.stderr
    assert [row["path"] for row in db_rows(cache_dir, "SELECT path FROM files")] == [str(kept[0])]
    run = db_rows(cache_dir, "SELECT * FROM runs")[0]
    assert run["exit_code"] == 1 and str(kept[0]) in run["delivery_error"]


def test_a_cache_write_that_fails_halfway_leaves_no_partial_file(cli, fake_openai, cache_dir, monkeypatch,
                                                                 rescue_tmp):
    from aigw.store import files

    real = files.os.fchmod

    def full(fd, mode):
        if Path(os.readlink(f"/proc/self/fd/{fd}")).is_relative_to(cache_dir / "results"):
            raise OSError(28, "No space left on device")
        return real(fd, mode)

    monkeypatch.setattr(files.os, "fchmod", full)
    r = cli(*IMG)
    assert r.code == 9, r.stderr
    assert "No space left on device" in r.stderr
    assert _results(cache_dir) == [] and list(cache_dir.rglob("*.part")) == []
    assert len(list(rescue_tmp.iterdir())) == 1


KILLER = """
import os, sys
_real = os.replace
def _replace(src, dst, *a, **kw):
    if "/results/" in str(dst) and os.environ.get("AIGW_TEST_KILL") == "rename":
        os.kill(os.getpid(), 9)
    return _real(src, dst, *a, **kw)
os.replace = _replace
_fchmod = os.fchmod
def _fchmod_then_die(fd, mode):
    if "/results/" in os.readlink(f"/proc/self/fd/{fd}") and os.environ.get("AIGW_TEST_KILL") == "write":
        os.write(fd, b"half an ima")
        os.kill(os.getpid(), 9)
    return _fchmod(fd, mode)
os.fchmod = _fchmod_then_die
"""


@pytest.mark.parametrize("moment", ["write", "rename"])
def test_kill_9_leaves_no_visible_file_the_log_does_not_know(cli, fake_openai, cache_dir, tmp_path, moment):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(KILLER)
    env = {"PYTHONPATH": f"{hooks}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", "AIGW_TEST_KILL": moment}
    r = cli.subprocess(*IMG, env=env)
    assert r.code == -9, r.stderr
    visible = [p for p in _results(cache_dir) if not p.name.startswith(".")]
    parts = [p for p in _results(cache_dir) if p.name.endswith(".part")]
    rows = db_rows(cache_dir, "SELECT path, sha256 FROM files")
    assert visible == []
    assert len(parts) == 1 and parts[0].name.startswith(".") and f".{_pid_of(parts[0])}.part" in parts[0].name
    if moment == "write":  # killed before the commit: no row, only debris a dead pid names
        assert rows == []
    else:  # killed between commit and rename: the row is there, and the complete bytes beside it
        import hashlib

        final = Path(rows[0]["path"])
        assert parts[0].parent == final.parent and parts[0].name.startswith(f".{final.name}.")
        assert hashlib.sha256(parts[0].read_bytes()).hexdigest() == rows[0]["sha256"]
    # The next aigw that opens the log settles what the dead one left: a result the log knows is
    # renamed into place, a half-written one removed.
    assert cli("models", "--json").code == 0
    visible = [p for p in _results(cache_dir) if not p.name.startswith(".")]
    assert [p for p in _results(cache_dir) if p.name.endswith(".part")] == []
    if moment == "write":
        assert visible == []
    else:
        assert [str(p) for p in visible] == [rows[0]["path"]]


def _pid_of(part: Path) -> str:
    return part.name.rsplit(".", 2)[1]
