"""A killed aigw leaves a true log and no debris: the next aigw marks its run interrupted, frees its
rate-limit slots and removes its temporary files. SIGTERM and SIGHUP end a run like Ctrl-C does."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from aigw.store import open_store, owner
from aigw.store.migrations import MIGRATIONS, migrate
from tests.fakes._server import Fault
from tests.fakes.fal import FakeFal
from tests.helpers import db_rows

IMAGES = "/images/generations"


def _aigw(*args: str, **kw: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "aigw", *args], env=dict(os.environ), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kw)  # type: ignore[call-overload]


def _wait_for(check, what: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert proc.poll() is None, f"aigw ended before {what}: {proc.stderr.read().decode()}"  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.02)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_kill_9_frees_the_only_concurrency_slot_at_once_and_logs_the_run_interrupted(cli, cache_dir, config_file,
                                                                                     fake_openai):
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text("[providers.openai]\nmax_concurrency = 1\n")
    fake_openai.inject(Fault(hang=True), route=IMAGES, times=1)
    first = _aigw("generate", "first", "-m", "gpt-image-2")
    _wait_for(lambda: fake_openai.count(IMAGES) == 1, "request at the provider", first)
    day = cache_dir / "results" / f"{date.today():%Y-%m-%d}"
    day.mkdir(parents=True, exist_ok=True)
    dead_part, live_part = day / f".x.png.{first.pid}.part", day / f".y.png.{os.getpid()}.part"
    dead_part.write_bytes(b"half a png")
    live_part.write_bytes(b"being written")
    first.kill()
    first.wait()

    r = cli("generate", "second", "-m", "gpt-image-2", "--json")  # the next aigw; the killed one was another process
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["attempts"][0]["waited_s"] < 1.0  # the dead run's slot did not hold it
    assert "rate-limit slot" not in r.stderr
    killed, served = db_rows(cache_dir, "SELECT status, exit_code, error, owner FROM runs ORDER BY id")
    assert killed["status"] == "interrupted" and f"process {first.pid} ended" in killed["error"]
    assert killed["owner"].startswith(f"{first.pid}:") and served["status"] == "ok"
    assert not dead_part.exists() and live_part.exists()
    assert db_rows(cache_dir, "SELECT COUNT(*) AS n FROM rate_slots WHERE released_at IS NULL")[0]["n"] == 0


def test_a_dead_holders_slot_frees_concurrency_but_still_counts_against_rpm(cache_dir):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        log, now = open_store(cache_dir), 1000.0
        slot, _ = log.state.try_acquire("p", now=now, rpm=None, max_concurrency=1, hold_s=300, pid=holder.pid)
        assert slot is not None
        assert log.state.try_acquire("p", now=now + 1, rpm=None, max_concurrency=1, hold_s=300, pid=os.getpid())[0] is None
    finally:
        holder.kill()
        holder.wait()
    # Dead now: its concurrency is free at once...
    assert log.state.try_acquire("p", now=now + 2, rpm=None, max_concurrency=1, hold_s=300, pid=os.getpid())[0] is not None
    # ...but its request may have reached the provider: with rpm = 2 the window is full until a minute
    # after its death was noticed.
    slot, wait = log.state.try_acquire("p", now=now + 3, rpm=2, max_concurrency=None, hold_s=300, pid=os.getpid())
    assert slot is None and wait > 55


@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGHUP, 129, "SIGHUP")])
def test_sigterm_and_sighup_while_polling_cancel_the_job_and_log_the_run_interrupted(cache_dir, sig, code, name):
    with FakeFal() as fake:
        fake.hang_jobs = True
        os.environ.update(FAL_KEY="test-key", AIGW_PROVIDERS__FAL__BASE_URL=fake.base_url)
        try:
            proc = _aigw("generate", "a red apple", "-m", "flux-schnell")
        finally:
            del os.environ["FAL_KEY"], os.environ["AIGW_PROVIDERS__FAL__BASE_URL"]
        _wait_for(lambda: any("/status" in r.path for r in fake.requests), "status poll", proc)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == code, err.decode()
        assert out == b"" and f"interrupted ({name})" in err.decode()
        assert fake.cancelled == [fake.job().id]
    (job,) = db_rows(cache_dir, "SELECT status FROM jobs")
    (run,) = db_rows(cache_dir, "SELECT status, exit_code, error FROM runs")
    assert job["status"] == "cancelled"
    assert (run["status"], run["exit_code"], run["error"]) == ("interrupted", code, f"interrupted ({name})")


def test_the_stdin_spool_of_a_killed_transcription_is_removed_by_the_next_aigw(cli, cache_dir, fake_openai,
                                                                               speech_wav):
    proc = _aigw("transcribe", "-", "-m", "whisper-1", stdin=subprocess.PIPE)
    proc.stdin.write(speech_wav.read_bytes()[:4096])  # type: ignore[union-attr]
    proc.stdin.flush()  # type: ignore[union-attr]
    spool_dir = cache_dir / "tmp"
    _wait_for(lambda: spool_dir.exists() and any(spool_dir.iterdir()), "stdin spool", proc)
    (spooled,) = spool_dir.iterdir()
    assert spooled.name.startswith(f"stdin-{proc.pid}-")
    proc.kill()
    proc.wait()
    proc.stdin.close()  # type: ignore[union-attr]
    live = spool_dir / f"stdin-{owner.file_tag()}-feed"  # this process, still spooling
    reused = spool_dir / f"stdin-{os.getpid()}-1-feed"  # an earlier process with this pid
    dead = spool_dir / f"stdin-{_dead_pid()}-5-feed"
    for path in (live, reused, dead):
        path.write_bytes(b"audio")

    assert cli.subprocess("generate", "x", "-m", "gpt-image-2", timeout=60).code == 0
    assert sorted(p.name for p in spool_dir.iterdir()) == [live.name]


def test_the_chunk_directory_of_a_killed_long_transcription_is_removed_by_the_next_aigw(cli, cache_dir, fake_openai):
    spool_dir = cache_dir / "tmp"
    spool_dir.mkdir(parents=True)
    live = spool_dir / f"chunks-{owner.file_tag()}-ab"  # this process, still sending chunks
    dead = spool_dir / f"chunks-{_dead_pid()}-5-cd"
    for path in (live, dead):
        path.mkdir()
        (path / "chunk-0000.flac").write_bytes(b"fLaC")
    assert cli.subprocess("generate", "x", "-m", "gpt-image-2", timeout=60).code == 0
    assert sorted(p.name for p in spool_dir.iterdir()) == [live.name]


def test_a_run_of_a_live_process_is_left_running_and_old_rows_without_owner_are_untouched(tmp_path):
    db = tmp_path / "aigw.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, sql in MIGRATIONS[:4]:
        for statement in filter(str.strip, sql.split(";")):
            conn.execute(statement)
        conn.execute("INSERT INTO _migrations VALUES (?, 'then')", (name,))
    conn.execute("INSERT INTO runs (id, kind, created_at, status, requested_model, request_json)"
                 " VALUES ('old', 'image', 'then', 'running', 'dall-e-3', '{}')")
    assert "m007_crash_run_owner" in migrate(conn)
    conn.execute("INSERT INTO runs (id, kind, created_at, status, requested_model, request_json, owner)"
                 " VALUES ('live', 'image', 'then', 'running', 'dall-e-3', '{}', ?)", (owner.current(),))
    conn.execute("INSERT INTO runs (id, kind, created_at, status, requested_model, request_json, owner)"
                 " VALUES ('dead', 'image', 'then', 'running', 'dall-e-3', '{}', ?)", (f"{_dead_pid()}:7:x",))
    conn.close()
    log = open_store(tmp_path)
    assert log.recovered == ["dead"]
    assert {r["id"]: r["status"] for r in log.runs()} == {"old": "running", "live": "running", "dead": "interrupted"}
    plan = log.conn.execute("EXPLAIN QUERY PLAN SELECT id, owner FROM runs WHERE status = 'running'"
                            " AND owner IS NOT NULL").fetchall()
    assert "runs_running" in str(plan)


def test_owner_tokens_tell_a_reused_pid_from_the_same_process():
    me = owner.current()
    pid, start, boot = me.split(":")
    assert owner.alive(me) and pid == str(os.getpid())
    if start:  # /proc present
        assert not owner.alive(f"{pid}:{int(start) + 1}:{boot}")
    assert not owner.alive(f"{_dead_pid()}:{start}:{boot}")


def test_spool_files_are_named_for_their_process(cache_dir, monkeypatch):
    import io

    from aigw.services.audio_input import spool_stdin

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"RIFF....")))
    path = spool_stdin(cache_dir)
    assert path.parent == cache_dir / "tmp" and path.name.startswith(f"stdin-{owner.file_tag()}-")
    assert isinstance(path, Path)


def _ignoring(*sigs: signal.Signals):  # type: ignore[no-untyped-def]
    def preexec() -> None:
        for sig in sigs:
            signal.signal(sig, signal.SIG_IGN)
    return preexec


def test_ctrl_c_stops_a_run_started_with_sigint_ignored_and_nohup_keeps_sighup_ignored(cache_dir):
    """A job a shell starts in the background inherits SIGINT ignored (the cause of the flaky Ctrl-C
    test when the suite ran in the background): aigw still stops on SIGINT. `nohup` ignores SIGHUP:
    that stays ignored, and a later SIGTERM decides the exit."""
    with FakeFal() as fake:
        fake.hang_jobs = True
        os.environ.update(FAL_KEY="test-key", AIGW_PROVIDERS__FAL__BASE_URL=fake.base_url)
        try:
            interrupted = _aigw("generate", "one", "-m", "flux-schnell", preexec_fn=_ignoring(signal.SIGINT))
            nohup = _aigw("generate", "two", "-m", "flux-schnell", preexec_fn=_ignoring(signal.SIGINT, signal.SIGHUP))
        finally:
            del os.environ["FAL_KEY"], os.environ["AIGW_PROVIDERS__FAL__BASE_URL"]
        _wait_for(lambda: sum("/status" in r.path for r in fake.requests) >= 2
                  and len({r.path for r in fake.requests if "/status" in r.path}) == 2, "status polls", interrupted)
        interrupted.send_signal(signal.SIGINT)
        nohup.send_signal(signal.SIGHUP)
        assert interrupted.wait(timeout=30) == 130, interrupted.stderr.read().decode()  # type: ignore[union-attr]
        time.sleep(0.5)
        assert nohup.poll() is None  # SIGHUP ignored: still polling
        nohup.send_signal(signal.SIGTERM)
        assert nohup.wait(timeout=30) == 143
        assert len(fake.cancelled) == 2
    assert sorted(r["exit_code"] for r in db_rows(cache_dir, "SELECT exit_code FROM runs")) == [130, 143]
