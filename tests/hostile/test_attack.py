"""Regressions found by attacking the merged fixes of issues 8 and 9 as a hostile world would,
each through the real entry point against a loopback server."""

from __future__ import annotations

import json
import time
from pathlib import Path

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
