"""One stable --json shape per command: every documented key in every run, success or failure,
and README's tables of keys are exactly the keys printed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.fakes._server import Fault

README = Path(__file__).resolve().parents[2] / "README.md"


def documented() -> list[list[str]]:
    """The key tables of README's 'JSON output' section, in order: every run, generate,
    transcribe, each attempt, a failure."""
    section = README.read_text().split("### JSON output", 1)[1].split("\n### ", 1)[0]
    tables = re.findall(r"\| key \| value \|\n\|---\|---\|\n((?:\|.*\n)+)", section)
    return [re.findall(r"^\| `([a-z_]+)` \|", table, flags=re.M) for table in tables]


def test_readme_documents_five_key_tables():
    run, image, audio, attempt, failure = documented()
    assert "id" in run and "revised_prompt" in image and "language" in audio
    assert "failure_class" in attempt and "exit_code" in failure


def test_generate_json_prints_exactly_the_documented_keys(cli, fake_openai):
    run, image, _, attempt, _ = documented()
    r = cli.subprocess("generate", "a red apple", "-m", "gpt-image-2", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert list(data) == run + image
    assert [list(a) for a in data["attempts"]] == [attempt]
    assert data["revised_prompt"] is None and data["cache_paths"] == data["paths"]


def test_transcribe_json_prints_exactly_the_documented_keys(cli, fake_openai, speech_wav, tmp_path):
    run, _, audio, attempt, _ = documented()
    for extra in ((), ("-f", "srt", "-o", str(tmp_path / "talk.srt"))):
        r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--json", *extra)
        assert r.code == 0, r.stderr
        data = json.loads(r.stdout)
        assert list(data) == run + audio
        assert all(list(a) == attempt for a in data["attempts"])
        assert data["body"] and data["cache_paths"]
    assert data["paths"] == [str(tmp_path / "talk.srt")] and data["format"] == "srt"


def test_a_failed_run_prints_the_documented_failure_object(cli, fake_openai):
    _, _, _, attempt, failure = documented()
    fake_openai.inject(Fault.http(500), times=None)
    r = cli("generate", "a cat", "-m", "gpt-image-2", "--json", env={"AIGW_ROUTING__RETRIES": "1"})
    assert r.code == 4
    data = json.loads(r.stdout)
    assert list(data) == failure
    assert data["exit_code"] == 4 and data["error"] in r.stderr and data["hint"]
    assert data["id"] and len(data["attempts"]) == 2
    assert [list(a) for a in data["attempts"]] == [attempt, attempt]
    assert {(a["provider"], a["http_status"], a["failure_class"]) for a in data["attempts"]} == {
        ("openai", 500, "retryable")}
    assert "aigw: error:" in r.stderr


def test_a_refusal_before_any_request_is_a_failure_object_too(cli, speech_wav):
    _, _, _, _, failure = documented()
    for args in (("generate", "a cat", "-m", "no-such-model", "--json"),
                 ("transcribe", str(speech_wav), "-m", "no-such-model", "--json")):
        r = cli(*args)
        assert r.code == 2
        data = json.loads(r.stdout)
        assert list(data) == failure and data["attempts"] == [] and data["id"] is None


def test_without_json_a_failure_leaves_stdout_empty(cli):
    r = cli("generate", "a cat", "-m", "no-such-model")
    assert (r.code, r.stdout) == (2, "")
    assert cli("generate", "a cat", "-m", "no-such-model", "--json").stdout
    after = cli("config", "get", "nosuch.key")  # --json of an earlier command does not leak into this one
    assert after.stdout == ""


def test_attempt_latency_is_rounded_like_the_runs(cli, fake_openai):
    data = json.loads(cli("generate", "a red apple", "-m", "gpt-image-2", "--json").stdout)
    for latency in (data["latency_ms"], data["attempts"][0]["latency_ms"]):
        assert latency == round(latency, 1)  # not 20.577414999934263


def test_dry_run_candidates_have_the_same_keys_configured_or_not(cli, fake_openai):
    # Only openai serves gpt-image-2, and it has a key: its row carries key_hint too, as null.
    data = json.loads(cli("generate", "x", "-m", "gpt-image-2", "--dry-run", "--json").stdout)
    rows = data["candidates"]
    assert rows and all("key_hint" in row for row in rows)
    assert rows[0]["configured"] is True and rows[0]["key_hint"] is None


def section_tables(title: str, header: str = "key") -> list[list[str]]:
    """The key tables of one README section (up to the next ### or ## heading), in order."""
    section = README.read_text().split(f"### {title}\n", 1)[1].split("\n##", 1)[0]
    tables = re.findall(rf"\| {header} \| value \|\n\|---\|---\|\n((?:\|.*\n)+)", section)
    return [re.findall(r"^\| `([a-z_0-9]+)` \|", table, flags=re.M) for table in tables]


@pytest.fixture
def two_runs(cli, fake_openai, speech_wav):
    assert cli("generate", "a red apple", "-m", "gpt-image-2").code == 0
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0


def test_logs_json_is_a_runs_json_plus_the_documented_log_keys(cli, two_runs):
    run, image, audio, attempt, _ = documented()
    log_keys, input_keys, file_keys, job_keys = section_tables("`aigw logs`")
    from aigw.cli import schema

    assert (tuple(log_keys), tuple(input_keys), tuple(file_keys), tuple(job_keys)) == (
        schema.LOG_KEYS, schema.INPUT_KEYS, schema.FILE_KEYS, schema.JOB_KEYS)
    r = cli("logs", "--json")
    assert r.code == 0, r.stderr
    audio_run, image_run = json.loads(r.stdout)
    assert list(image_run) == run + image + log_keys and list(audio_run) == run + audio + log_keys
    for logged in (image_run, audio_run):
        assert [list(a) for a in logged["attempts"]] == [attempt]
        assert [list(f) for f in logged["files"]] == [file_keys]
    assert list(audio_run["input"]) == input_keys and image_run["input"] is None
    # The same run, as its own command printed it and as the log gives it back: the same values.
    fresh = json.loads(cli("generate", "a green pear", "-m", "gpt-image-2", "--json").stdout)
    logged = json.loads(cli("logs", fresh["id"], "--json").stdout)
    assert {k: logged[k] for k in run + image} == fresh


def test_stats_json_prints_exactly_the_documented_keys(cli, two_runs):
    top, figures, budget = section_tables("`aigw stats`")
    for by in (None, "kind"):
        r = cli("stats", "--json", *(("--by", by) if by else ()))
        assert r.code == 0, r.stderr
        data = json.loads(r.stdout)
        assert list(data) == top and list(data["totals"]) == figures
        assert all(list(g) == ["key", *figures] for g in data["groups"])
        assert list(data["budget"]) == ["daily", "monthly"]
        assert all(list(b) == budget for b in data["budget"].values())
    assert [g["key"] for g in data["groups"]] == ["audio", "image"]


def test_the_provenance_table_is_what_an_image_carries():
    from aigw.store import provenance
    from aigw.types import ImageCall

    (fields,) = section_tables("Provenance in every result", header="field")
    call = ImageCall(provider_model="m", prompt="p", negative_prompt="n", seed=1, size="1x1")
    made = provenance.image_fields(run_id="r", model="m", provider="x", call=call, cost_usd=0.1)
    assert tuple(fields) == provenance.IMAGE_FIELDS == tuple(made)
