"""`aigw generate` end to end against FakeStability, with only STABILITY_API_KEY and the base URL set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes._server import Fault
from tests.fakes.stability import FakeStability
from tests.helpers import db_rows


@pytest.fixture
def fake(monkeypatch):
    with FakeStability() as server:
        monkeypatch.setenv("STABILITY_API_KEY", "sk-test")
        monkeypatch.setenv("AIGW_PROVIDERS__STABILITY__BASE_URL", server.url)
        yield server
    assert not server.errors, server.errors


def results(cache_dir: Path) -> list[Path]:
    root = cache_dir / "results"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_stable_image_core_end_to_end(cli, fake, cache_dir):
    r = cli("generate", "a lighthouse at dusk", "-m", "stable-image-core", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["model"], data["provider"], data["provider_model"]) == ("stable-image-core", "stability", "core")
    assert data["cost_usd"] == pytest.approx(0.03) and data["size"] == "1024x1024"
    path = Path(data["paths"][0])
    with Image.open(path) as img:
        assert img.format == "PNG" and img.size == (1024, 1024)
    req = fake.last_request
    assert req.path == "/v2beta/stable-image/generate/core" and req.content_type.startswith("multipart/form-data")
    assert req.headers["authorization"] == "Bearer sk-test" and req.form["prompt"] == "a lighthouse at dusk"
    runs = db_rows(cache_dir, "SELECT status, provider FROM runs WHERE id = ?", data["id"])
    assert [tuple(r) for r in runs] == [("ok", "stability")]
    attempts = db_rows(cache_dir, "SELECT provider, http_status, served FROM attempts WHERE run_id = ?", data["id"])
    assert [tuple(a) for a in attempts] == [("stability", 200, 1)]


def test_stdout_is_only_the_path(cli, fake):
    r = cli("generate", "a fox", "-m", "stable-image-core")
    assert r.code == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1 and Path(r.stdout.strip()).is_file()
    assert "estimated cost: $0.030" in r.stderr


def test_content_filtered_at_200_is_exit_5_and_keeps_no_result(cli, fake, cache_dir):
    r = cli("generate", "something nsfw", "-m", "stable-image-core")
    assert r.code == 5, r.stderr
    assert r.stdout == ""
    assert "CONTENT_FILTERED" in r.stderr
    assert fake.last_request.status == 200 and fake.count("/generate/core") == 1  # refused, never retried
    assert results(cache_dir) == []
    assert db_rows(cache_dir, "SELECT * FROM files") == []
    runs = db_rows(cache_dir, "SELECT status, exit_code FROM runs")
    assert [tuple(r) for r in runs] == [("failed", 5)]
    attempts = db_rows(cache_dir, "SELECT failure_class, served, http_status FROM attempts")
    assert [tuple(a) for a in attempts] == [("content_refused", 0, 200)]


def test_n_2_is_two_requests_and_two_files(cli, fake, cache_dir):
    r = cli("generate", "two foxes", "-m", "stable-image-core", "-n", "2", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert fake.count("/v2beta/stable-image/generate/core") == 2
    assert len(data["paths"]) == 2 and all(Path(p).is_file() for p in data["paths"])
    assert len(db_rows(cache_dir, "SELECT * FROM files WHERE run_id = ?", data["id"])) == 2
    assert data["cost_usd"] == pytest.approx(0.06)


def test_a_stability_style_preset_reaches_the_wire(cli, fake):
    assert cli("generate", "a fox", "-m", "stable-image-core", "--style", "anime").code == 0
    form = fake.last_request.form
    assert form["style_preset"] == "anime" and form["prompt"] == "a fox"


def test_an_aigw_preset_is_appended_to_the_prompt_instead(cli, fake):
    assert cli("generate", "a fox", "-m", "stable-image-ultra", "--style", "watercolor").code == 0
    form = fake.last_request.form
    assert "style_preset" not in form and form["prompt"].startswith("a fox, in a watercolor")


def test_a_size_is_sent_as_the_nearest_ratio_with_a_warning(cli, fake):
    r = cli("generate", "a fox", "-m", "sd3.5-large", "--size", "1920x1080", "--json")
    assert r.code == 0, r.stderr
    form = fake.last_request.form
    assert form["aspect_ratio"] == "16:9" and form["model"] == "sd3.5-large"
    assert any("warning" in line and "1920x1080" in line for line in r.stderr.splitlines())
    assert json.loads(r.stdout)["size"] == "1344x768"


def test_turbo_warns_and_leaves_out_the_negative_prompt(cli, fake):
    r = cli("generate", "a fox", "-m", "sd3.5-large-turbo", "--negative-prompt", "blur")
    assert r.code == 0, r.stderr
    assert "negative_prompt" not in fake.last_request.form
    assert "does not take --negative-prompt; not sent" in r.stderr


def test_a_flagged_prompt_is_exit_5(cli, fake):
    r = cli("generate", "something forbidden", "-m", "stable-image-core")
    assert r.code == 5 and r.stdout == ""
    assert "content moderation" in r.stderr


def test_a_bad_key_is_exit_4_naming_the_variable(cli, fake, monkeypatch):
    monkeypatch.setenv("STABILITY_API_KEY", "bad-key")
    r = cli("generate", "a fox", "-m", "stable-image-core")
    assert r.code == 4
    assert "401" in r.stderr and "STABILITY_API_KEY" in r.stderr


def test_a_bad_parameter_answer_is_exit_2_with_stabilitys_words(cli, fake):
    fake.inject(Fault(status=400, body={"id": "x", "name": "bad_request", "errors": ["seed: must be a number"]}))
    r = cli("generate", "a fox", "-m", "stable-image-core")
    assert r.code == 2 and "seed: must be a number" in r.stderr


def test_no_key_is_exit_3_naming_the_variable(cli, monkeypatch):
    r = cli("generate", "a fox", "-m", "stable-image-core")
    assert r.code == 3 and "STABILITY_API_KEY" in r.stderr
