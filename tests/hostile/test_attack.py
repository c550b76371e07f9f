"""Regressions found by attacking the merged fixes of issues 8 and 9 as a hostile world would,
each through the real entry point against a loopback server."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import db_rows

IMG = ("generate", "a pear", "-m", "gpt-image-2")


def _rescue_env(tmp_path: Path) -> dict[str, str]:
    tmp = tmp_path / "tmpdir"
    tmp.mkdir(exist_ok=True)
    return {"TMPDIR": str(tmp)}


def test_json_failure_object_of_a_logged_run_that_could_not_write_o_names_the_run(cli, fake_openai, cache_dir):
    r = cli.subprocess(*IMG, "-o", "/dev/full", "--json")
    assert r.code == 7, r.stderr
    out = json.loads(r.stdout)
    run_id = db_rows(cache_dir, "SELECT id FROM runs")[0]["id"]
    assert out["exit_code"] == 7 and out["id"] == run_id
    assert [(a["provider"], a["served"]) for a in out["attempts"]] == [("openai", True)]


def test_json_failure_object_of_a_rescued_result_names_the_run(cli, fake_openai, cache_dir, tmp_path):
    today = time.strftime("%Y-%m-%d")
    (cache_dir / "results").mkdir(parents=True)
    (cache_dir / "results" / today).write_text("a file in the way of today's results directory")
    r = cli.subprocess(*IMG, "--json", env=_rescue_env(tmp_path))
    assert r.code == 9, r.stderr
    out = json.loads(r.stdout)
    run_id = db_rows(cache_dir, "SELECT id FROM runs")[0]["id"]
    assert out["exit_code"] == 9 and out["id"] == run_id
    assert [a["served"] for a in out["attempts"]] == [True]
    assert (tmp_path / "tmpdir" / f"aigw-rescue-{__import__('os').getuid()}" / f"{run_id}.png").is_file()


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs (root only; skipped where mounting is not permitted)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1024k", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(mnt: Path, leave_kib: int) -> None:
    info = os.statvfs(mnt)
    free_kib = info.f_bavail * info.f_frsize // 1024
    with open(mnt / "filler", "wb") as f:
        f.write(b"\0" * max(0, free_kib - leave_kib) * 1024)


def test_a_run_log_on_a_full_disk_says_the_disk_is_full(cli, fake_openai, small_fs, tmp_path):
    env = {"AIGW_CACHE_DIR": str(small_fs / "cache"), **_rescue_env(tmp_path)}
    assert cli.subprocess(*IMG, env=env).code == 0
    _fill(small_fs, 8)  # SQLite's -shm cannot grow: "disk I/O error" from SQLite
    r = cli.subprocess(*IMG, env=env)
    assert r.code == 1, r.stderr
    assert f"the run log {small_fs / 'cache' / 'aigw.db'} cannot grow: the disk is full" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and fake_openai.count() == 1  # refused before any request
