"""`aigw logs` and `aigw stats` end to end through the real CLI, against loopback fakes: eight runs
(five images, three transcripts; one failed over, one failed) read back with every attempt, the
stats totals equal to the sums over the logged runs, and runs found again from their files."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes._server import Fault

PROMPTS = ("a red apple", "a green pear", "a yellow lemon", "a purple plum")




@pytest.fixture
def eight_runs(cli, fake_openai, groq, together, speech_wav):
    """Four images served, one image failed (two attempts at a failing OpenAI), one transcript at
    OpenAI, one at Groq, one failed over from Groq to Together."""
    for prompt in PROMPTS:
        assert cli("generate", prompt, "-m", "gpt-image-2").code == 0
    fake_openai.inject(Fault.http(500), route="/images/generations", times=2)
    failed = cli("generate", "a broken vase", "-m", "gpt-image-2", env={"AIGW_ROUTING__RETRIES": "1"})
    assert failed.code == 4, failed.stderr
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1", "-f", "json").code == 0
    assert cli("transcribe", str(speech_wav), "-m", "whisper-large-v3").code == 0
    groq.inject(Fault(status=503), route="/audio/transcriptions", times=None)
    # --no-cache: the same audio and model as the run before would be answered from the result cache
    over = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3", "--no-cache")
    assert over.code == 0, over.stderr
    return json.loads(cli("logs", "--json", "-n", "0").stdout)


def test_logs_json_lists_the_eight_runs_with_their_attempts(eight_runs):
    runs = eight_runs
    assert len(runs) == 8
    assert [r["created_at"] for r in runs] == sorted((r["created_at"] for r in runs), reverse=True)
    assert sorted(r["kind"] for r in runs) == ["audio"] * 3 + ["image"] * 5
    failed = [r for r in runs if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["exit_code"] == 4 and failed[0]["prompt"] == "a broken vase"
    assert [(a["provider"], a["http_status"], a["failure_class"]) for a in failed[0]["attempts"]] == [
        ("openai", 500, "retryable")] * 2
    assert failed[0]["files"] == [] and failed[0]["cost_usd"] is None
    over = runs[0]
    assert [(a["provider"], a["served"]) for a in over["attempts"]] == [("groq", False), ("together", True)]
    assert over["provider"] == "together" and over["attempts"][0]["failure_class"] == "retryable"
    assert sum(len(r["attempts"]) for r in runs) == 4 + 2 + 1 + 1 + 2
    for run in runs:
        assert all(f["exists"] and Path(f["path"]).is_file() for f in run["files"])
        if run["kind"] == "audio":
            assert run["input"]["path"] == str(Path(os.path.abspath(run["input"]["path"])))
            assert run["input"]["sha256"] == hashlib.sha256(Path(run["input"]["path"]).read_bytes()).hexdigest()


def test_stats_totals_are_the_sums_over_the_logged_attempts(cli, eight_runs):
    stats = json.loads(cli("stats", "--json").stdout)
    totals, runs = stats["totals"], eight_runs
    attempts = [a for r in runs for a in r["attempts"]]
    served = [a for a in attempts if a["served"]]
    assert totals["requests"] == len(runs) == 8
    assert (totals["ok"], totals["failed"]) == (7, 1) and totals["success_rate"] == round(7 / 8, 4)
    assert totals["attempts"] == len(attempts) == 10
    assert totals["failovers"] == 2 and totals["served_by_later_hop"] == 1
    assert totals["cost_usd"] == pytest.approx(sum(a["actual_cost_usd"] or 0 for a in attempts), abs=1e-6)
    assert totals["cost_usd"] == pytest.approx(sum(r["cost_usd"] or 0 for r in runs), abs=1e-6)
    assert totals["estimated_cost_usd"] == pytest.approx(sum(a["estimated_cost_usd"] or 0 for a in served), abs=1e-6)
    priced = [a for a in served if a["actual_cost_usd"] is not None and a["estimated_cost_usd"] is not None]
    assert totals["drift_usd"] == pytest.approx(
        sum(a["actual_cost_usd"] - a["estimated_cost_usd"] for a in priced), abs=1e-6)
    assert totals["unpriced_runs"] == sum(1 for a in served if a["actual_cost_usd"] is None)
    latencies = sorted(r["latency_ms"] for r in runs if r["status"] == "ok")
    assert totals["latency_p50_ms"] == latencies[3] and totals["latency_p95_ms"] == latencies[-1]
    assert totals["cache_hits"] == 0
    assert stats["budget"]["daily"]["spent_usd"] == pytest.approx(totals["cost_usd"], abs=1e-6)
    by = json.loads(cli("stats", "--json", "--by", "provider").stdout)
    assert {g["key"]: g["requests"] for g in by["groups"]} == {"groq": 1, "openai": 6, "together": 1}
    assert sum(g["cost_usd"] for g in by["groups"]) == pytest.approx(totals["cost_usd"], abs=1e-6)
    day = json.loads(cli("stats", "--json", "--by", "day", "--since", "1h").stdout)
    assert day["totals"] == totals and len(day["groups"]) in (1, 2)  # a run across local midnight


def test_filters_search_and_plain_lines(cli, eight_runs):
    ids = lambda *args: {r["id"] for r in json.loads(cli("logs", "--json", "-n", "0", *args).stdout)}  # noqa: E731
    runs = {r["id"]: r for r in eight_runs}
    assert ids("--kind", "audio") == {i for i, r in runs.items() if r["kind"] == "audio"}
    assert ids("--failed") == {i for i, r in runs.items() if r["status"] == "failed"}
    assert ids("--provider", "together") == {eight_runs[0]["id"]}
    assert ids("--provider", "groq") == {eight_runs[0]["id"], eight_runs[1]["id"]}  # tried there counts
    assert ids("--model", "whisper-1") == {eight_runs[2]["id"]}
    assert ids("--search", "apple") == {i for i, r in runs.items() if r.get("prompt") == "a red apple"}
    assert ids("--search", "APPL") == ids("--search", "apple")  # prefix, any case
    transcript = eight_runs[2]["text"].split()[2]
    assert eight_runs[2]["id"] in ids("--search", transcript)
    assert ids("--search", "hello.wav") == {i for i, r in runs.items() if r["kind"] == "audio"}
    assert ids("--since", "2000-01-01") == set(runs) and ids("--since", "1h") == set(runs)
    assert len(json.loads(cli("logs", "--json", "-n", "3").stdout)) == 3

    r = cli("logs")
    lines = r.stdout.splitlines()
    assert r.code == 0 and len(lines) == 8 and "\t" not in r.stdout
    assert "gpt-image-2 -> openai" in lines[-1] and '"a red apple"' in lines[-1] and lines[-1].endswith(".png")
    assert "whisper-large-v3 -> together" in lines[0] and "hello.wav" in lines[0]
    assert any("failed (exit 4)" in line and "a broken vase" in line for line in lines)


def test_one_run_shows_every_attempt(cli, eight_runs):
    over = eight_runs[0]
    r = cli("logs", over["id"][:-3])  # a unique prefix is enough
    assert r.code == 0, r.stderr
    assert over["id"] in r.stdout and "1. groq" in r.stdout and "retryable" in r.stdout and "HTTP 503" in r.stdout
    assert "2. together" in r.stdout and "served" in r.stdout and "sha256" in r.stdout
    one = json.loads(cli("logs", over["id"], "--json").stdout)
    assert one == over
    missing = cli("logs", "19990101-000000")
    assert missing.code == 2 and missing.stdout == "" and "no run" in missing.stderr


def test_last_path_and_pruned_files(cli, eight_runs):
    newest = eight_runs[0]
    r = cli("logs", "--last", "--path")
    assert (r.code, r.stdout) == (0, newest["files"][0]["path"] + "\n")
    image = cli("logs", "--last", "--path", "--kind", "image").stdout.strip()
    assert image.endswith(".png") and Path(image).is_file()
    Path(image).unlink()  # pruned or deleted: the run stays in the log, marked
    run = json.loads(cli("logs", "--for", image, "--json").stdout)
    assert run["files"][0]["exists"] is False and run["files"][0]["path"] == image
    assert run["prompt"] == PROMPTS[-1]  # the newest image that was served
    assert "(file missing)" in cli("logs", run["id"]).stdout
    line = cli("logs", "--search", PROMPTS[-1]).stdout
    assert line.rstrip().endswith(image + " (file missing)")
    r = cli("logs", "--last", "--path", "--search", PROMPTS[-1])
    assert r.code == 2 and r.stdout == "" and "no longer there" in r.stderr


def test_logs_for_finds_a_copied_result(cli, fake_openai, tmp_path):
    out = tmp_path / "apple.png"
    made = json.loads(cli("generate", "a red apple", "-m", "gpt-image-2", "-o", str(out), "--json").stdout)
    elsewhere = tmp_path / "copies" / "renamed.png"
    elsewhere.parent.mkdir()
    shutil.copy(out, elsewhere)
    for path in (made["cache_paths"][0], str(out), str(elsewhere)):
        r = cli("logs", "--for", path, "--json")
        assert r.code == 0, r.stderr
        assert json.loads(r.stdout)["id"] == made["id"]
    assert made["id"] in cli("logs", "--for", str(elsewhere)).stdout


def test_logs_for_reads_the_run_id_the_file_carries(cli, fake_openai, tmp_path, cache_dir):
    made = json.loads(cli("generate", "a red apple", "-m", "gpt-image-2", "--json").stdout)
    copy = tmp_path / "copy.png"
    shutil.copy(made["paths"][0], copy)
    conn = sqlite3.connect(cache_dir / "aigw.db")
    with conn:
        conn.execute("DELETE FROM files")  # the log no longer knows the path nor the hash
    conn.close()
    r = cli("logs", "--for", str(copy), "--json")
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["id"] == made["id"]
    shutil.rmtree(cache_dir)  # a new run log: only the file knows
    r = cli("logs", "--for", str(copy))
    assert r.code == 2 and made["id"] in r.stderr and "gpt-image-2" in r.stderr
    plain = tmp_path / "plain.txt"
    plain.write_text("nothing here")
    r = cli("logs", "--for", str(plain))
    assert r.code == 2 and "no run" in r.stderr


def provider_bytes(fake) -> bytes:
    """What the fake sent for the last image: its render cache holds the exact encoded bytes."""
    return list(fake._image_cache.values())[-1]


def test_a_generated_png_carries_its_provenance_and_the_providers_pixels(cli, fake_openai, cache_dir):
    data = json.loads(cli("generate", "a red apple", "-m", "gpt-image-2", "--negative-prompt", "no worms",
                          "--size", "1024x1024", "--json").stdout)
    path = Path(data["paths"][0])
    sent = provider_bytes(fake_openai)
    with Image.open(path) as image:
        image.load()
        text, pixels, mode = dict(image.text), image.tobytes(), image.mode  # type: ignore[attr-defined]
    with Image.open(io.BytesIO(sent)) as original:
        assert (mode, pixels) == (original.mode, original.tobytes())
    assert text["aigw:run_id"] == data["id"] and text["aigw:prompt"] == "a red apple"
    assert text["aigw:model"] == "gpt-image-2" and text["aigw:provider"] == "openai"
    assert text["aigw:size"] == "1024x1024" and float(text["aigw:cost_usd"]) == pytest.approx(data["cost_usd"])
    row = json.loads(cli("logs", data["id"], "--json").stdout)["files"][0]
    assert row["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() != hashlib.sha256(sent).hexdigest()


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_jpeg_and_webp_carry_xmp(cli, fake_openai, fmt):
    data = json.loads(cli("generate", "a red apple", "-m", "gpt-image-2", "-f", fmt, "--json").stdout)
    path = Path(data["paths"][0])
    with Image.open(path) as image:
        packet, pixels = image.info["xmp"], image.tobytes()
    with Image.open(io.BytesIO(provider_bytes(fake_openai))) as original:
        assert pixels == original.tobytes()
    text = packet.decode() if isinstance(packet, bytes) else packet
    assert f'aigw:run_id="{data["id"]}"' in text and 'aigw:prompt="a red apple"' in text


def test_json_transcripts_carry_provenance_beside_the_providers_keys(cli, fake_openai, speech_wav, tmp_path,
                                                                     monkeypatch):
    shutil.copy(speech_wav, tmp_path / "talk.wav")
    monkeypatch.chdir(tmp_path)
    r = cli("transcribe", "talk.wav", "-m", "whisper-1", "-f", "verbose_json", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    body = json.loads(data["body"])
    assert body["text"] == data["text"] and body["segments"] and body["language"]
    assert body["aigw"]["run_id"] == data["id"] and body["aigw"]["provider"] == "openai"
    assert body["aigw"]["file"] == str(tmp_path / "talk.wav")
    logged = json.loads(cli("logs", data["id"], "--json").stdout)
    assert logged["input"] == {"path": str(tmp_path / "talk.wav"), "bytes": speech_wav.stat().st_size,
                               "sha256": hashlib.sha256(speech_wav.read_bytes()).hexdigest()}
    assert logged["body"] == data["body"]


def test_stats_reads_budgets_and_refuses_unknown_groupings(cli, fake_openai, config_file):
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text("[budget]\ndaily_usd = 5\nmonthly_usd = 50\n")
    assert cli("generate", "a red apple", "-m", "gpt-image-2").code == 0
    stats = json.loads(cli("stats", "--json").stdout)
    daily = stats["budget"]["daily"]
    assert daily["limit_usd"] == 5 and daily["remaining_usd"] == pytest.approx(5 - daily["spent_usd"], abs=1e-6)
    assert "of $5" in cli("stats").stdout
    r = cli("stats", "--by", "colour")
    assert r.code == 2 and r.stdout == ""
    assert cli("stats", "--since", "yesterday-ish").code == 2


@pytest.mark.parametrize("since", ["99999999d", "9999999999999999999999w", "100000000000h"])
def test_since_too_far_back_is_a_usage_error_not_a_crash(cli, since):
    for command in ("logs", "stats"):
        r = cli(command, "--since", since)
        assert r.code == 2 and r.stdout == "" and "--since" in r.stderr and "unexpected" not in r.stderr, r.stderr


def test_since_takes_created_at_as_json_prints_it(cli, fake_openai):
    created = json.loads(cli("generate", "a red apple", "-m", "gpt-image-2", "--json").stdout)["created_at"]
    assert created.endswith("Z")  # what --json prints must be what --since reads, on every Python
    from datetime import datetime, timezone
    from aigw.store.stats import parse_since
    assert parse_since(created, datetime.now(timezone.utc)) == datetime.fromisoformat(created[:-1] + "+00:00")
    assert len(json.loads(cli("logs", "--json", "--since", created).stdout)) == 1


def test_an_image_that_cannot_carry_provenance_gets_a_sidecar(cli, fake_openai, tmp_path, cache_dir, monkeypatch):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buf, "GIF")
    gif = buf.getvalue()
    monkeypatch.setattr(fake_openai, "_render", lambda *args: gif)  # a provider that answers with a GIF
    data = json.loads(cli("generate", "a red apple", "-m", "gpt-image-2", "--json").stdout)
    path = Path(data["paths"][0])
    assert path.suffix == ".gif" and path.read_bytes() == gif  # left exactly as the provider sent it
    side = json.loads(Path(str(path) + ".json").read_text())["aigw"]
    assert side["run_id"] == data["id"] and side["prompt"] == "a red apple" and side["provider"] == "openai"
    assert oct(Path(str(path) + ".json").stat().st_mode & 0o777) == oct(0o600)  # private like the result
    copy = tmp_path / "copy.gif"
    shutil.copy(path, copy)
    assert json.loads(cli("logs", "--for", str(copy), "--json").stdout)["id"] == data["id"]
    conn = sqlite3.connect(cache_dir / "aigw.db")
    with conn:
        conn.execute("DELETE FROM files")
    conn.close()
    # Only the sidecar knows now: --for reads it beside the file asked about.
    assert json.loads(cli("logs", "--for", str(path), "--json").stdout)["id"] == data["id"]
