"""A paid result is never lost, -o is predictable, the cache is private: `aigw` against the fake
OpenAI server, with real failing paths (/proc, /dev/full, a file in the way). In-process, but for
what only a real process has: its own stdout file descriptor (a full one, /dev/stdout)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import db_rows

IMG = ("generate", "a pear", "-m", "gpt-image-2")


def _audio(wav: Path) -> tuple[str, ...]:
    return ("transcribe", str(wav), "-m", "whisper-1")


def _parts(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*.part")]


def _run(cache_dir: Path) -> dict:
    rows = db_rows(cache_dir, "SELECT * FROM runs")
    assert len(rows) == 1
    return dict(rows[0])


def _files(cache_dir: Path) -> list[str]:
    return [r["path"] for r in db_rows(cache_dir, "SELECT path FROM files")]


def _rescue_env(tmp_path: Path) -> dict[str, str]:
    tmp = tmp_path / "tmpdir"
    tmp.mkdir(exist_ok=True)
    return {"TMPDIR": str(tmp)}


# ---- -o after payment fails: exit 7, the result stays in the cache ---------------------------------


def test_generate_to_proc_is_exit_7_with_the_cached_path_and_the_cost(cli, fake_openai, cache_dir):
    r = cli(*IMG, "-o", "/proc/x.png")
    assert r.code == 7, r.stderr
    assert r.stdout == ""
    run = _run(cache_dir)
    cached = Path(_files(cache_dir)[0])
    assert cached.read_bytes().startswith(b"\x89PNG")
    assert str(cached) in r.stderr and "could not write /proc/x.png" in r.stderr and "cost: $" in r.stderr
    assert (run["status"], run["exit_code"]) == ("ok", 7)
    assert "/proc/x.png" in run["delivery_error"]
    assert _parts(cache_dir) == []


def test_transcribe_to_dev_full_is_exit_7_and_the_device_stays(cli, fake_openai, speech_wav, cache_dir):
    r = cli(*_audio(speech_wav), "-o", "/dev/full")
    assert r.code == 7, r.stderr
    assert "No space left on device" in r.stderr
    cached = Path(_files(cache_dir)[0])
    assert str(cached) in r.stderr and cached.read_text().strip() == fake_openai.transcript
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    assert not Path("/dev/full.txt").exists() and not Path("/dev/full.png").exists()
    run = _run(cache_dir)
    assert run["exit_code"] == 7 and "/dev/full" in run["delivery_error"]


def test_generate_to_dev_full_adds_no_suffix(cli, fake_openai, cache_dir):
    r = cli(*IMG, "-o", "/dev/full")
    assert r.code == 7, r.stderr
    assert not Path("/dev/full.png").exists()


def test_a_file_in_the_way_of_the_output_directory_leaves_nothing_behind(cli, fake_openai, tmp_path, cache_dir):
    (tmp_path / "taken").write_text("mine")
    r = cli(*IMG, "-o", str(tmp_path / "taken" / "x.png"))
    assert r.code == 7, r.stderr
    r = cli(*IMG, "-o", str(tmp_path / "taken") + "/")
    assert r.code == 7, r.stderr
    assert (tmp_path / "taken").read_text() == "mine"
    assert _parts(tmp_path) == []
    codes = [row["exit_code"] for row in db_rows(cache_dir, "SELECT exit_code FROM runs")]
    assert codes == [7, 7]


# ---- -o rules ----------------------------------------------------------------------------------


def test_transcribe_to_a_directory_writes_inside_it(cli, fake_openai, speech_wav, tmp_path, cache_dir):
    existing = tmp_path / "have"
    existing.mkdir()
    r = cli(*_audio(speech_wav), "-o", str(existing))
    assert r.code == 0, r.stderr
    written = Path(r.stdout.strip())
    assert written.parent == existing and written.name == Path(_files(cache_dir)[0]).name
    r = cli(*_audio(speech_wav), "-o", str(tmp_path / "new") + "/")
    assert r.code == 0, r.stderr
    assert Path(r.stdout.strip()).parent == tmp_path / "new"
    assert Path(r.stdout.strip()).read_text().strip() == fake_openai.transcript
    assert _parts(tmp_path) == []


def test_generate_to_a_new_directory_with_a_slash(cli, fake_openai, tmp_path):
    r = cli(*IMG, "-o", str(tmp_path / "new") + "/")
    assert r.code == 0, r.stderr
    assert (tmp_path / "new").is_dir()
    assert Path(r.stdout.strip()).parent == tmp_path / "new"


def test_transcribe_takes_the_format_from_the_suffix(cli, fake_openai, speech_wav, tmp_path):
    r = cli(*_audio(speech_wav), "-o", str(tmp_path / "talk.srt"))
    assert r.code == 0, r.stderr
    assert "-->" in (tmp_path / "talk.srt").read_text()
    assert fake_openai.requests_to("/audio/transcriptions")[-1].form["response_format"] == "srt"


def test_format_wins_over_the_suffix_with_a_warning(cli, fake_openai, speech_wav, tmp_path):
    r = cli(*_audio(speech_wav), "-f", "json", "-o", str(tmp_path / "talk.srt"))
    assert r.code == 0, r.stderr
    assert (tmp_path / "talk.srt").read_text().startswith("{")
    assert "--format" in r.stderr and "srt" in r.stderr
    r = cli(*_audio(speech_wav), "-f", "verbose_json", "-o", str(tmp_path / "talk.json"))
    assert r.code == 0 and "warning" not in r.stderr


def test_a_symlink_to_a_device_is_written_through(cli, fake_openai, speech_wav, tmp_path):
    link = tmp_path / "sink"
    link.symlink_to("/dev/null")
    r = cli(*_audio(speech_wav), "-o", str(link))
    assert r.code == 0, r.stderr
    assert link.is_symlink() and os.readlink(link) == "/dev/null"
    r = cli(*IMG, "-o", "/dev/null")
    assert r.code == 0 and stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_symlink_to_a_file_keeps_the_link(cli, fake_openai, speech_wav, tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert cli(*_audio(speech_wav), "-o", str(link)).code == 0
    assert link.is_symlink() and real.read_text().strip() == fake_openai.transcript


def test_raw_bytes_to_a_full_stdout_is_exit_7(fake_openai, cache_dir):
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "aigw", *IMG, "-o", "-"], stdout=full, stderr=subprocess.PIPE,
                              timeout=120)
    assert proc.returncode == 7, proc.stderr
    assert b"could not write to stdout" in proc.stderr and _files(cache_dir)[0].encode() in proc.stderr
    assert _run(cache_dir)["exit_code"] == 7


def test_dev_stdout_carries_only_the_data(cli, fake_openai, speech_wav):
    proc = subprocess.run([sys.executable, "-m", "aigw", *IMG, "-o", "/dev/stdout"], capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"\x89PNG") and b"/dev/stdout" not in proc.stdout
    r = cli.subprocess(*_audio(speech_wav), "-o", "/dev/stdout")
    assert r.code == 0 and r.stdout.strip() == fake_openai.transcript


# ---- the cache cannot take the result: exit 9 (kept elsewhere) or 10 (lost) -------------------
# root ignores chmod, so the cache is made unwritable with a regular file where results/ must be.


def test_unwritable_cache_keeps_the_result_in_the_rescue_dir(cli, fake_openai, tmp_path, cache_dir):
    cache_dir.mkdir(parents=True)
    (cache_dir / "results").write_text("in the way")
    env = _rescue_env(tmp_path)
    r = cli(*IMG, env=env)
    assert r.code == 9, r.stderr
    rescue = tmp_path / "tmpdir" / f"aigw-rescue-{os.getuid()}"
    kept = list(rescue.iterdir())
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"\x89PNG") and str(kept[0]) in r.stderr
    assert stat.S_IMODE(rescue.stat().st_mode) == 0o700 and stat.S_IMODE(kept[0].stat().st_mode) == 0o600
    assert "$0.0" in r.stderr  # the cost of what was kept elsewhere
    run = _run(cache_dir)
    assert run["exit_code"] == 9 and str(kept[0]) in run["delivery_error"]
    assert _files(cache_dir) == [str(kept[0])]
    assert _parts(cache_dir, tmp_path) == []


def test_unwritable_cache_puts_the_result_at_the_output_first(cli, fake_openai, speech_wav, tmp_path, cache_dir):
    cache_dir.mkdir(parents=True)
    (cache_dir / "results").write_text("in the way")
    out = tmp_path / "talk.txt"
    r = cli(*_audio(speech_wav), "-o", str(out), env=_rescue_env(tmp_path))
    assert r.code == 9, r.stderr
    assert out.read_text().strip() == fake_openai.transcript and str(out) in r.stderr
    assert not (tmp_path / "tmpdir" / f"aigw-rescue-{os.getuid()}").exists()
    assert _files(cache_dir) == [str(out)]


def _nowhere_to_write(cache_dir, tmp_path) -> dict[str, str]:
    """A file where the cache's results/ should be, and another where the rescue directory would go."""
    cache_dir.mkdir(parents=True)
    (cache_dir / "results").write_text("in the way")
    env = _rescue_env(tmp_path)
    (tmp_path / "tmpdir" / f"aigw-rescue-{os.getuid()}").write_text("in the way too")
    return env


def test_nowhere_to_write_is_exit_10_in_one_line(cli, fake_openai, speech_wav, tmp_path, cache_dir):
    env = _nowhere_to_write(cache_dir, tmp_path)
    r = cli(*_audio(speech_wav), "-o", "/dev/full", env=env)
    assert r.code == 10, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith(("aigw: error", "hint"))]
    assert len(errors) == 1 and "lost" in errors[0] and "$0.0" in errors[0]
    assert "Traceback" not in r.stderr
    run = _run(cache_dir)
    assert (run["status"], run["exit_code"]) == ("failed", 10)
    assert _parts(cache_dir, tmp_path) == []


def test_a_rescue_dir_someone_else_can_read_is_not_used(cli, fake_openai, tmp_path, cache_dir):
    cache_dir.mkdir(parents=True)
    (cache_dir / "results").write_text("in the way")
    env = _rescue_env(tmp_path)
    shared = tmp_path / "tmpdir" / f"aigw-rescue-{os.getuid()}"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    r = cli(*IMG, env=env)
    assert r.code == 10, r.stderr
    assert list(shared.iterdir()) == []


# ---- private by default ------------------------------------------------------------------------


def test_cache_is_private_and_output_follows_the_umask(cli, fake_openai, tmp_path, cache_dir):
    out = tmp_path / "apple.png"
    old = os.umask(0o022)
    holder = None
    try:
        r = cli(*IMG, "-o", str(out))
        assert r.code == 0, r.stderr
        holder = __import__("sqlite3").connect(cache_dir / "aigw.db")  # keeps -wal and -shm in place
        holder.execute("SELECT count(*) FROM runs").fetchone()
        r = cli(*IMG, "-o", str(out))
        assert r.code == 0, r.stderr
        dirs = [cache_dir, *[p for p in cache_dir.rglob("*") if p.is_dir()]]
        files = [p for p in cache_dir.rglob("*") if p.is_file()]
        assert {stat.S_IMODE(d.stat().st_mode) for d in dirs} == {0o700}
        assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
        names = {f.name for f in files}
        assert {"aigw.db", "aigw.db-wal", "aigw.db-shm"} <= names and any(n.endswith(".png") for n in names)
    finally:
        os.umask(old)
        if holder is not None:
            holder.close()
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_stdin_audio_is_spooled_privately(cli, fake_openai, speech_wav, cache_dir, monkeypatch):
    from aigw.store import files

    seen: list[int] = []
    real = files.spool

    def watching(stream, dest, **kw):
        size = real(stream, dest, **kw)
        seen.extend([stat.S_IMODE(dest.stat().st_mode), stat.S_IMODE(dest.parent.stat().st_mode)])
        return size

    monkeypatch.setattr("aigw.services.audio_input.spool", watching)
    old = os.umask(0o022)
    try:
        r = cli("transcribe", "-", "-m", "whisper-1", input=speech_wav.read_bytes())
    finally:
        os.umask(old)
    assert r.code == 0, r.stderr
    assert seen == [0o600, 0o700]


def test_exit_10_keeps_the_detailed_reason_in_the_run_log(cli, fake_openai, speech_wav, tmp_path, cache_dir):
    # The run log says what stderr says: what was lost and why each place failed, not a shorter note.
    env = _nowhere_to_write(cache_dir, tmp_path)
    r = cli(*_audio(speech_wav), "-o", "/dev/full", env=env)
    assert r.code == 10, r.stderr
    (error,) = [line for line in r.stderr.splitlines() if line.startswith("aigw: error")]
    run = _run(cache_dir)
    assert run["delivery_error"] == error.removeprefix("aigw: error: "), (run["delivery_error"], error)
    assert "lost" in run["delivery_error"] and "/dev/full" in run["delivery_error"]
    assert "aigw-rescue" in run["delivery_error"] and "results" in run["delivery_error"]
