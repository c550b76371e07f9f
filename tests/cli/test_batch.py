"""`--batch` end to end against the loopback OpenAI fake: every good line gets exactly one result
or one logged failure, exit 8 names the failed lines, `--resume` sends only what is not done, a
kill -9 loses nothing and pays nothing twice, Ctrl-C lets the items in flight finish and prints the
command that resumes. Signals and kill -9 hit the installed entry point (`python -m aigw`); the
rest, resumes included, runs in-process."""

from __future__ import annotations

import json
import re
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes._server import Fault
from tests.helpers import db_rows

IMAGES = "/images/generations"
MALFORMED = {17: '{"prompt": "no end"', 88: '{"prompt": "x", "colour": "red"}', 150: '{"n": 2}'}


def write_batch(path: Path, lines: int, malformed: dict[int, str] | None = None) -> dict[int, str]:
    """Line n is the object {"prompt": "item n", "id": "i<n>"} unless it is one of `malformed`."""
    prompts: dict[int, str] = {}
    rows = []
    for n in range(1, lines + 1):
        if malformed and n in malformed:
            rows.append(malformed[n])
        else:
            prompts[n] = f"item {n}"
            rows.append(json.dumps({"prompt": prompts[n], "id": f"i{n}"}))
    path.write_text("\n".join(rows) + "\n")
    return prompts


def sent_prompts(fake) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.json["prompt"] for r in fake.requests_to(IMAGES) if isinstance(r.json, dict)]


def no_retries(config_file: Path) -> None:
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text("[routing]\nretries = 0\n")


def aigw(*args: str) -> list[str]:
    return [sys.executable, "-m", "aigw", *args]


def test_200_lines_3_malformed_every_10th_request_failing_then_resume(cli, fake_openai, config_file: Path,
                                                                       cache_dir: Path, tmp_path: Path) -> None:
    no_retries(config_file)  # a 500 fails its item (exit 4) instead of being retried
    batch = tmp_path / "prompts.jsonl"
    prompts = write_batch(batch, 200, MALFORMED)
    fake_openai.fail_every(10, route=IMAGES)
    args = ("generate", "--batch", str(batch), "-m", "gpt-image-2", "--concurrency", "8", "--json")
    r = cli(*args)
    assert r.code == 8, r.stderr
    objects = [json.loads(line) for line in r.stdout.splitlines()]
    by_line: dict[int, list[dict]] = {}
    for obj in objects:
        by_line.setdefault(obj["line"], []).append(obj)
    assert sorted(by_line) == list(range(1, 201)) and all(len(v) == 1 for v in by_line.values())
    sent = fake_openai.count(IMAGES)
    assert sent == 197  # one request per good line, no retries
    failed = sorted(n for n, (obj,) in by_line.items() if obj["exit_code"] != 0 and n not in MALFORMED)
    assert len(failed) == sent // 10
    for n, (obj,) in by_line.items():
        if n in MALFORMED:
            assert obj["exit_code"] == 2 and obj["error"].startswith(f"line {n}: ") and obj["attempts"] == []
        elif n in failed:
            assert obj["exit_code"] == 4 and obj["item_id"] == f"i{n}" and obj["attempts"][0]["http_status"] == 500
        else:
            assert obj["exit_code"] == 0 and obj["item_id"] == f"i{n}" and obj["prompt"] == prompts[n]
            assert Path(obj["paths"][0]).read_bytes().startswith(b"\x89PNG")
    # Every failure is logged as a failed run, every success as a served one, one run per good line.
    runs = db_rows(cache_dir, "SELECT b.line, r.status, r.exit_code FROM batch_items b JOIN runs r ON r.id = b.run_id")
    assert sorted(row["line"] for row in runs) == sorted(prompts)
    assert sorted(row["line"] for row in runs if row["status"] == "failed") == failed
    assert "line(s) " + ", ".join(str(n) for n in sorted([*failed, *MALFORMED])[:20]) in r.stderr
    assert "--resume b" in r.stderr

    # The same command again: nothing is sent, the batch to resume is named.
    again = cli(*args)
    assert again.code == 2 and "--resume" in again.stderr and "--new" in again.stderr
    assert fake_openai.count(IMAGES) == sent

    fake_openai.fail_every(None)
    fake_openai.clear_log()
    resumed = cli(*args, "--resume")
    assert resumed.code == 8, resumed.stderr  # the three malformed lines are still malformed
    assert sorted(sent_prompts(fake_openai)) == sorted(prompts[n] for n in failed)  # no success sent again
    done = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert sorted(o["line"] for o in done if o["exit_code"] == 0) == failed
    assert sorted(o["line"] for o in done if o["exit_code"] != 0) == sorted(MALFORMED)
    states = db_rows(cache_dir, "SELECT status, COUNT(*) AS n FROM batch_items GROUP BY status")
    assert {row["status"]: row["n"] for row in states} == {"ok": 197, "malformed": 3}


def test_paths_on_stdout_exit_0_and_the_summary(cli, fake_openai, tmp_path: Path) -> None:
    batch = tmp_path / "prompts.txt"
    batch.write_text("# two prompts\na red apple\n\na green pear\n")
    r = cli("generate", "--batch", str(batch), "-m", "gpt-image-2", "--progress")
    assert r.code == 0, r.stderr
    paths = r.stdout.splitlines()
    assert len(paths) == 2 and all(Path(p).read_bytes().startswith(b"\x89PNG") for p in paths)
    assert "estimated cost: " in r.stderr and "for 2 item(s)" in r.stderr
    assert "2 of 2 item(s) done, 0 failed" in r.stderr and "progress: 2/2 done" in r.stderr
    assert sorted(sent_prompts(fake_openai)) == ["a green pear", "a red apple"]
    # A new batch of the same input, on purpose, and one from stdin.
    assert cli("generate", "--batch", str(batch), "-m", "gpt-image-2", "--new").code == 0
    piped = cli("generate", "--batch", "-", "-m", "gpt-image-2", input=b"a plum\n")
    assert piped.code == 0 and len(piped.stdout.splitlines()) == 1
    assert fake_openai.count(IMAGES) == 5


def test_a_bom_crlf_and_unicode_separators_inside_a_line_are_not_part_of_the_prompt(cli, fake_openai,
                                                                                    tmp_path: Path) -> None:
    # A file saved by Notepad starts with a BOM and ends lines with CRLF; a JSON string may hold
    # U+2028 or U+0085, which only Python's splitlines takes for line ends (no editor does).
    batch = tmp_path / "bom.txt"
    batch.write_bytes("\ufeffa red apple\r\n".encode() + b'{"prompt": "a\xe2\x80\xa8pear\xc2\x85fig", "id": 2}\r\n'
                      + "a plum\r\n".encode())
    r = cli("generate", "--batch", str(batch), "-m", "gpt-image-2", "--json")
    assert r.code == 0, r.stderr
    lines = sorted((o["line"], o["item_id"]) for o in map(json.loads, r.stdout.rstrip("\n").split("\n")))
    assert lines == [(1, None), (2, "2"), (3, None)]
    assert sorted(sent_prompts(fake_openai)) == ["a plum", "a red apple", "a\u2028pear\x85fig"]


def test_a_resume_with_nothing_priced_to_send_estimates_nothing_not_unknown(cli, fake_openai, tmp_path: Path) -> None:
    batch = tmp_path / "b.txt"
    batch.write_text('a red apple\n{"prompt": "x", "colour": "red"}\n')
    assert cli("generate", "--batch", str(batch), "-m", "gpt-image-2").code == 8
    r = cli("generate", "--batch", str(batch), "-m", "gpt-image-2", "--resume")
    assert r.code == 8 and "estimated cost: $0 for 0 item(s)" in r.stderr, r.stderr
    assert fake_openai.count(IMAGES) == 1


def test_line_options_override_the_command_line_and_o_dir(cli, fake_openai, tmp_path: Path) -> None:
    batch = tmp_path / "b.jsonl"
    batch.write_text('{"prompt": "one", "quality": "low"}\n{"prompt": "two", "output": "' + str(tmp_path / "two.png")
                     + '"}\n{"prompt": "three", "n": 2}\n')
    out = tmp_path / "out"
    r = cli("generate", "--batch", str(batch), "-m", "gpt-image-2", "--quality", "medium", "-o", f"{out}/",
                       "--concurrency", "1")
    assert r.code == 0, r.stderr
    by_prompt = {req.json["prompt"]: req.json for req in fake_openai.requests_to(IMAGES)}
    assert by_prompt["one"]["quality"] == "low" and by_prompt["two"]["quality"] == "medium"
    assert by_prompt["three"]["n"] == 2
    lines = r.stdout.splitlines()
    assert str(tmp_path / "two.png") in lines and len(lines) == 4
    assert len(list(out.iterdir())) == 3
    refused = cli("generate", "--batch", str(batch), "-o", str(tmp_path / "x.png"), "--new")
    assert refused.code == 2 and "directory" in refused.stderr


def test_batch_over_max_cost_or_budget_is_refused_before_any_request(cli, fake_openai, config_file: Path,
                                                                     tmp_path: Path) -> None:
    batch = tmp_path / "b.txt"
    batch.write_text("a\nb\nc\n")
    r = cli("generate", "--batch", str(batch), "-m", "gpt-image-2", "--max-cost", "0.2")
    assert r.code == 6 and "over --max-cost" in r.stderr, r.stderr
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text("[budget]\ndaily_usd = 0.3\n")
    r = cli("generate", "--batch", str(batch), "-m", "gpt-image-2")
    assert r.code == 6 and "daily budget" in r.stderr and "this batch" in r.stderr, r.stderr
    assert fake_openai.count() == 0


def test_transcribe_several_files_a_quoted_pattern_and_a_list(cli, fake_openai, speech_wav: Path,
                                                              tmp_path: Path) -> None:
    audio = tmp_path / "audio"
    audio.mkdir()
    for name in ("a.wav", "b.wav", "c.wav"):
        (audio / name).write_bytes(speech_wav.read_bytes())
    r = cli("transcribe", str(audio / "a.wav"), str(audio / "b.wav"), "-m", "whisper-1")
    assert r.code == 0, r.stderr
    assert len(r.stdout.splitlines()) == 2 and all(Path(p).suffix == ".txt" for p in r.stdout.splitlines())
    r = cli("transcribe", str(audio / "*.wav"), "-m", "whisper-1", "--json")
    assert r.code == 0, r.stderr
    objects = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(o["line"] for o in objects) == [1, 2, 3] and all(o["text"] for o in objects)
    listing = tmp_path / "list.jsonl"
    listing.write_text(f'{audio / "a.wav"}\n{{"file": "{audio / "b.wav"}", "format": "srt"}}\n{tmp_path / "gone.wav"}\n')
    r = cli("transcribe", "--batch", str(listing), "-m", "whisper-1", "-o", f"{tmp_path / 'subs'}/")
    assert r.code == 8, r.stderr
    written = sorted(Path(p).suffix for p in r.stdout.splitlines())
    assert written == [".srt", ".txt"] and "line 3: " in r.stderr
    assert cli("transcribe", str(audio / "*.mp3")).code == 2


def _started(fake, n: int, proc: subprocess.Popen) -> None:  # type: ignore[no-untyped-def, type-arg]
    if not fake.wait_for_requests(n, IMAGES, timeout=60):
        proc.kill()
        raise AssertionError(proc.communicate(timeout=10))


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_lets_items_in_flight_finish_then_resume_sends_the_rest(cli, fake_openai, cache_dir: Path,
                                                                         tmp_path: Path, sig: signal.Signals,
                                                                         code: int) -> None:
    batch = tmp_path / "b.jsonl"
    prompts = write_batch(batch, 12)
    fake_openai.inject(Fault.slow(1.0), route=IMAGES, times=None)
    args = ("generate", "--batch", str(batch), "-m", "gpt-image-2", "--concurrency", "2")
    proc = subprocess.Popen(aigw(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _started(fake_openai, 3, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err.decode()
    finished = out.decode().splitlines()
    sent = fake_openai.count(IMAGES)
    assert len(finished) == sent and sent < 12  # every item in flight finished; none started after
    assert "--resume b" in err.decode()
    fake_openai.clear_faults()
    fake_openai.clear_log()
    r = cli(*args, "--resume")
    assert r.code == 0, r.stderr
    assert len(sent_prompts(fake_openai)) == 12 - sent
    assert {row["status"] for row in db_rows(cache_dir, "SELECT status FROM batch_items")} == {"ok"}
    assert set(prompts.values()) == {json.loads(row["request_json"])["prompt"]
                                     for row in db_rows(cache_dir, "SELECT request_json FROM batch_items")}


def test_a_second_ctrl_c_cancels_the_items_in_flight(fake_openai, cache_dir: Path, tmp_path: Path) -> None:
    batch = tmp_path / "b.txt"
    batch.write_text("a\nb\nc\nd\n")
    fake_openai.inject(Fault(hang=True), route=IMAGES, times=None)
    proc = subprocess.Popen(aigw("generate", "--batch", str(batch), "-m", "gpt-image-2", "--concurrency", "2"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _started(fake_openai, 2, proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)  # not a timing assertion: the first signal must land before the second
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and out == b"", err.decode()
    assert "--resume b" in err.decode()
    assert sorted(r["status"] for r in db_rows(cache_dir, "SELECT status FROM runs")) == ["interrupted"] * 2


def test_kill_9_mid_batch_then_resume_loses_nothing_and_pays_nothing_twice(cli, fake_openai, cache_dir: Path,
                                                                           tmp_path: Path) -> None:
    batch = tmp_path / "b.jsonl"
    prompts = write_batch(batch, 40)
    fake_openai.inject(Fault.slow(0.2), route=IMAGES, times=None)
    args = ("generate", "--batch", str(batch), "-m", "gpt-image-2", "--concurrency", "4")
    proc = subprocess.Popen(aigw(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _started(fake_openai, 14, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    served_before = {json.loads(row["request_json"])["prompt"] for row in db_rows(
        cache_dir, "SELECT b.request_json FROM batch_items b JOIN runs r ON r.id = b.run_id WHERE r.status = 'ok'")}
    assert 0 < len(served_before) < 40
    fake_openai.clear_faults()
    fake_openai.clear_log()
    r = cli(*args, "--resume")
    assert r.code == 0, r.stderr
    resent = set(sent_prompts(fake_openai))
    assert not resent & served_before  # none paid twice
    assert resent | served_before == set(prompts.values())
    rows = db_rows(cache_dir, "SELECT b.line, r.status, f.path FROM batch_items b JOIN runs r ON r.id = b.run_id"
                              " JOIN files f ON f.run_id = r.id")
    assert sorted(row["line"] for row in rows) == list(range(1, 41))  # one result per line, none lost
    assert all(row["status"] == "ok" and Path(row["path"]).read_bytes().startswith(b"\x89PNG") for row in rows)
    conn = sqlite3.connect(cache_dir / "aigw.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def test_resume_argv_takes_an_optional_batch_id() -> None:
    from aigw.cli.batch import resume_argv

    assert resume_argv(["generate", "--batch", "f", "--resume"]) == ["generate", "--batch", "f", "--resume", "latest"]
    assert resume_argv(["generate", "--resume", "--batch", "f"])[:3] == ["generate", "--resume", "latest"]
    bid = "b20261206-030023-841-3f034a"
    assert resume_argv(["generate", "--resume", bid, "--batch", "f"]) == ["generate", "--resume", bid, "--batch", "f"]


def test_each_json_object_is_the_documented_run_or_failure_object_plus_the_batch_keys(cli, fake_openai,
                                                                                      tmp_path: Path) -> None:
    import re

    from tests.cli.test_json_schema import documented

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Batches", 1)[1].split("\n### ", 1)[0]
    extra = re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.M)
    assert extra == ["line", "item_id", "exit_code"]
    run, image, _, attempt, failure = documented()
    batch = tmp_path / "b.jsonl"
    batch.write_text('{"prompt": "a fig", "id": 3}\n{"prompt": "a fig", "model": "no-such-model"}\n{oops\n')
    r = cli("generate", "--batch", str(batch), "-m", "gpt-image-2", "--json")
    assert r.code == 8
    objects = {o["line"]: o for o in map(json.loads, r.stdout.splitlines())}
    assert list(objects[1]) == run + image + extra and objects[1]["item_id"] == "3"
    assert [list(a) for a in objects[1]["attempts"]] == [attempt]
    assert list(objects[2]) == failure + ["line", "item_id"] and objects[2]["exit_code"] == 2
    assert list(objects[3]) == failure + ["line", "item_id"] and objects[3]["exit_code"] == 2


def _jobs(cache_dir: Path) -> list[sqlite3.Row]:
    try:
        return db_rows(cache_dir, "SELECT job_id FROM jobs")
    except sqlite3.OperationalError:  # the log is not made yet
        return []


def test_a_queue_job_recorded_before_kill_9_is_polled_on_resume_not_submitted_again(
        cli, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakes.fal import FakeFal

    monkeypatch.delenv("FAL_REST_HOST", raising=False)
    batch = tmp_path / "b.txt"
    batch.write_text("a fig\na plum\n")
    with FakeFal() as fal:
        monkeypatch.setenv("FAL_KEY", "test-key")
        monkeypatch.setenv("AIGW_PROVIDERS__FAL__BASE_URL", fal.base_url)
        fal.hang_jobs = True  # queued until aigw is killed
        args = ("generate", "--batch", str(batch), "-m", "flux-schnell", "--concurrency", "2", "--json")
        proc = subprocess.Popen(aigw(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(_jobs(cache_dir)) < 2:
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate(timeout=10)
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        jobs = {row["job_id"] for row in _jobs(cache_dir)}
        for job_id in jobs:  # the jobs go on at fal and finish
            fal.job(job_id).hang = False
        r = cli(*args, "--resume")
        assert r.code == 0, r.stderr
        assert len(fal.requests_to("/fal-ai/flux/schnell", method="POST")) == 2  # never submitted again
        objects = [json.loads(line) for line in r.stdout.splitlines()]
        assert sorted(o["line"] for o in objects) == [1, 2] and all(o["exit_code"] == 0 for o in objects)
        assert all(Path(o["paths"][0]).is_file() for o in objects)
        # Each job now belongs to the run that fetched it, and every line is done.
        owners = db_rows(cache_dir, "SELECT j.job_id, r.status FROM jobs j JOIN runs r ON r.id = j.run_id")
        assert {row["job_id"] for row in owners} == jobs and {row["status"] for row in owners} == {"ok"}
        assert {row["status"] for row in db_rows(cache_dir, "SELECT status FROM batch_items")} == {"ok"}
        assert not fal.errors


def test_a_recorded_job_the_provider_no_longer_has_is_submitted_again(cli, cache_dir: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakes.fal import FakeFal

    monkeypatch.delenv("FAL_REST_HOST", raising=False)
    batch = tmp_path / "b.txt"
    batch.write_text("a fig\na plum\n")
    with FakeFal() as fal:
        monkeypatch.setenv("FAL_KEY", "test-key")
        monkeypatch.setenv("AIGW_PROVIDERS__FAL__BASE_URL", fal.base_url)
        fal.hang_jobs = True
        args = ("generate", "--batch", str(batch), "-m", "flux-schnell", "--concurrency", "2")
        proc = subprocess.Popen(aigw(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(_jobs(cache_dir)) < 2:
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate(timeout=10)
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        gone, kept = (row["job_id"] for row in _jobs(cache_dir))
        fal.drop(gone)  # fal's retention ran out: nothing of it to fetch, nothing of it billed
        fal.job(kept).hang = False
        fal.hang_jobs = False
        r = cli(*args, "--resume")
        assert r.code == 0, r.stderr
        assert len(fal.requests_to("/fal-ai/flux/schnell", method="POST")) == 3  # only the gone one again
        assert "submitting the request again" in r.stderr and len(r.stdout.splitlines()) == 2
        assert not fal.errors


def test_on_a_terminal_one_live_progress_line_in_a_pipe_nothing(cli, fake_openai, tmp_path: Path) -> None:
    from tests.cli.test_status_line import run_in_pty

    batch = tmp_path / "b.txt"
    batch.write_text("a fig\na plum\na pear\n")
    fake_openai.inject(Fault.slow(0.6), route=IMAGES, times=None)
    code, out, term = run_in_pty("generate", "--batch", str(batch), "-m", "gpt-image-2", "--concurrency", "1")
    assert code == 0 and len(out.splitlines()) == 3, term
    assert "0/3 done · 0 failed · 1 in flight · $0 · -/min · ETA -" in term
    assert re.search(r"2/3 done · 0 failed · 1 in flight · \$[0-9.]+ · [0-9.]+/min · ETA \d+s", term), term
    assert "3 of 3 item(s) done, 0 failed" in term
    r = cli("generate", "--batch", str(batch), "-m", "gpt-image-2", "--new")
    assert r.code == 0 and "in flight" not in r.stderr and "progress" not in r.stderr


def test_in_a_pipe_a_batch_says_when_it_waits_for_a_rate_limit_slot_and_until_when(cli, fake_openai, cache_dir: Path,
                                                                                   tmp_path: Path,
                                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.cli.test_status_line import hold_rpm_slot

    monkeypatch.setenv("AIGW_PROVIDERS__OPENAI__RPM", "3")
    for _ in range(2):  # two requests of another process, whose minute ends 2.5 s from now (start-up eats some)
        hold_rpm_slot(cache_dir, "openai", ended_ago=57.5)
    batch = tmp_path / "b.txt"
    batch.write_text("a fig\na plum\n")
    r = cli("generate", "--batch", str(batch), "-m", "gpt-image-2", "--concurrency", "2")
    assert r.code == 0, r.stderr
    waits = [line for line in r.stderr.splitlines() if "rate-limit slot" in line]
    assert len(waits) == 1, r.stderr  # the first item went at once; the second waited, said once
    assert re.fullmatch(r"notice: waiting for a rate-limit slot at openai \(rpm 3\) until \d\d:\d\d:\d\d", waits[0])


def test_resume_by_id_takes_a_fixed_line_and_sends_only_it(cli, fake_openai, cache_dir: Path, tmp_path: Path) -> None:
    batch = tmp_path / "b.jsonl"
    batch.write_text('{"prompt": "a fig"}\n{"prompt": "a plum", "sizes": "big"}\n')
    r = cli("generate", "--batch", str(batch), "-m", "gpt-image-2")
    assert r.code == 8 and "line 2: unknown key 'sizes'" in r.stderr
    batch_id = db_rows(cache_dir, "SELECT id FROM batches")[0]["id"]
    batch.write_text('{"prompt": "a fig"}\n{"prompt": "a plum", "size": "1024x1024"}\n')
    fake_openai.clear_log()
    fresh = cli("generate", "--batch", str(batch), "-m", "gpt-image-2", "--resume")
    assert fresh.code == 2 and "no batch of this input" in fresh.stderr  # the input changed: not the same batch
    r = cli("generate", "--batch", str(batch), "-m", "gpt-image-2", "--resume", batch_id)
    assert r.code == 0, r.stderr
    assert sent_prompts(fake_openai) == ["a plum"] and len(r.stdout.splitlines()) == 1
    assert "1 item(s) done before are not sent again" in r.stderr
    # Now the fixed input is that batch's: the same command again names it.
    again = cli("generate", "--batch", str(batch), "-m", "gpt-image-2")
    assert again.code == 2 and batch_id in again.stderr


@pytest.mark.parametrize("args, message", [
    (("generate", "a cat", "--batch", "B"), "give no PROMPT"),
    (("generate", "--resume"), "--resume needs --batch"),
    (("generate", "--batch", "B", "--resume", "--new"), "contradict"),
    (("generate", "--batch", "B", "--dry-run"), "--dry-run does not take --batch"),
    (("generate", "--batch", "B", "--resume", "b20261206-030023-841-3f034a"), "no batch b20261206-030023-841-3f034a"),
    (("generate", "--batch", "missing.txt"), "cannot read --batch missing.txt"),
    (("transcribe", "a.wav", "b.wav", "--batch", "B"), "give no FILE as well"),
    (("transcribe", "-", "b.wav"), "cannot read audio from stdin"),
])
def test_batch_usage_errors_exit_2(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...],
                                   message: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "B").write_text("a fig\n")
    r = cli(*args)
    assert r.code == 2 and message in r.stderr and r.stdout == "", r.stderr
