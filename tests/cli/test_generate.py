"""`aigw generate` end to end against the fake OpenAI server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes._server import Fault
from tests.helpers import db_rows


def test_generate_writes_a_png_and_prints_its_path(cli, fake_openai, cache_dir):
    r = cli("generate", "a red apple", "-m", "gpt-image-2")
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 1
    path = Path(lines[0])
    assert path.is_file() and path.is_relative_to(cache_dir / "results")
    with Image.open(path) as img:
        assert img.format == "PNG"
    assert "estimated cost" in r.stderr and "cost:" in r.stderr


def test_generate_json_prints_one_object_with_the_contract_fields(cli, fake_openai):
    r = cli("generate", "a red apple", "-m", "gpt-image-2", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    for key in ("id", "model", "provider", "paths", "cost_usd", "latency_ms"):
        assert key in data
    assert data["model"] == "gpt-image-2" and data["provider"] == "openai"
    assert data["cost_usd"] > 0  # computed from the fake's `usage`
    assert len(data["attempts"]) == 1 and data["attempts"][0]["served"] is True


def test_generate_sends_the_openai_request_shape(cli, fake_openai):
    r = cli("generate", "a red apple", "-m", "gpt-image-2", "--size", "1536x1024", "--quality", "low",
            "--format", "webp")
    assert r.code == 0, r.stderr
    req = fake_openai.requests_to("/images/generations")[-1]
    assert req.headers["authorization"] == "Bearer test"
    assert req.json == {"model": "gpt-image-2", "prompt": "a red apple", "n": 1, "size": "1536x1024",
                        "quality": "low", "output_format": "webp"}
    assert Path(r.stdout.strip()).suffix == ".webp"


def test_generate_records_the_run_and_its_attempt(cli, fake_openai, cache_dir):
    r = cli("generate", "a red apple", "-m", "gpt-image-2", "--json")
    run_id = json.loads(r.stdout)["id"]
    runs = db_rows(cache_dir, "SELECT * FROM runs WHERE id = ?", run_id)
    assert runs[0]["status"] == "ok" and runs[0]["provider"] == "openai"
    attempts = db_rows(cache_dir, "SELECT * FROM attempts WHERE run_id = ?", run_id)
    assert [(a["provider"], a["served"], a["http_status"]) for a in attempts] == [("openai", 1, 200)]
    files = db_rows(cache_dir, "SELECT * FROM files WHERE run_id = ?", run_id)
    assert Path(files[0]["path"]).is_file()


def test_n_images_are_numbered_results(cli, fake_openai):
    r = cli("generate", "two apples", "-m", "gpt-image-2", "-n", "2")
    assert r.code == 0, r.stderr
    paths = [Path(p) for p in r.stdout.splitlines()]
    assert [p.stem.rsplit("-", 1)[1] for p in paths] == ["1", "2"]
    assert all(p.is_file() for p in paths)


def test_prompt_from_stdin_with_dash_or_absent(cli, fake_openai):
    assert cli("generate", "-", "-m", "gpt-image-2", input="a pear\n").code == 0
    assert cli("generate", "-m", "gpt-image-2", input="a plum\n").code == 0
    prompts = [r.json["prompt"] for r in fake_openai.requests_to("/images/generations")]
    assert prompts == ["a pear", "a plum"]


def test_output_to_a_file_a_directory_and_stdout(cli, fake_openai, tmp_path):
    r = cli("generate", "x", "-m", "gpt-image-2", "-o", str(tmp_path / "apple.png"))
    assert r.stdout.strip() == str(tmp_path / "apple.png") and (tmp_path / "apple.png").is_file()
    r = cli("generate", "x", "-m", "gpt-image-2", "-n", "2", "-o", str(tmp_path / "out") + "/")
    assert [Path(p).parent for p in r.stdout.splitlines()] == [tmp_path / "out"] * 2
    r = cli("generate", "x", "-m", "gpt-image-2", "-o", "-")
    assert r.code == 0 and r.stdout_bytes.startswith(b"\x89PNG")


def test_output_suffix_chooses_the_format(cli, fake_openai, tmp_path):
    r = cli("generate", "x", "-m", "gpt-image-2", "-o", str(tmp_path / "apple.jpg"))
    assert r.code == 0, r.stderr
    assert fake_openai.requests_to("/images/generations")[-1].json["output_format"] == "jpeg"
    assert (tmp_path / "apple.jpg").read_bytes()[:3] == b"\xff\xd8\xff"


# ---- retired models ----------------------------------------------------------------------------


def test_dall_e_3_is_served_by_its_current_successor_with_one_notice(cli, fake_openai):
    r = cli("generate", "a cat", "--model", "dall-e-3", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["requested_model"] == "dall-e-3"
    assert data["model"] == "gpt-image-1.5" and data["substituted"] is True
    assert Path(data["paths"][0]).is_file()
    notices = [line for line in r.stderr.splitlines() if "retired" in line]
    assert len(notices) == 1
    assert "2026-05-12" in notices[0] and "gpt-image-1.5" in notices[0] and "$" in notices[0]
    sent = fake_openai.requests_to("/images/generations")
    assert [q.json["model"] for q in sent] == ["gpt-image-1.5"]


def test_substitution_maps_size_quality_and_style_with_warnings(cli, fake_openai):
    r = cli("generate", "a cat", "-m", "dall-e-3", "--size", "1792x1024", "--quality", "hd", "--style", "natural")
    assert r.code == 0, r.stderr
    sent = fake_openai.requests_to("/images/generations")[-1].json
    assert sent["size"] == "1536x1024" and sent["quality"] == "high" and "style" not in sent
    for word in ("1792x1024", "hd", "natural"):
        assert any(word in line and "warning" in line for line in r.stderr.splitlines()), word


def test_no_substitute_is_exit_2_with_the_facts_and_sends_nothing(cli, fake_openai, cache_dir):
    r = cli("generate", "a cat", "-m", "dall-e-3", "--no-substitute")
    assert r.code == 2
    assert "2026-05-12" in r.stderr and "gpt-image-1.5" in r.stderr
    assert fake_openai.count() == 0


def test_config_can_turn_substitution_off(cli, fake_openai, config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text("[routing]\nsubstitute_retired = false\n")
    assert cli("generate", "a cat", "-m", "dall-e-3").code == 2


def test_a_gateway_that_lists_dall_e_3_receives_it_unchanged(cli, config_file):
    from tests.fakes.openai import FakeOpenAI

    with FakeOpenAI(serve_retired=True, auth="none") as gateway:
        config_file.parent.mkdir(parents=True)
        config_file.write_text(
            f'[providers.oldazure]\ntype = "openai"\nbase_url = "{gateway.base_url}"\nauth = "none"\n'
            'models = ["dall-e-3"]\n'
        )
        r = cli("generate", "x", "-m", "dall-e-3", "--json")
        assert r.code == 0, r.stderr
        assert gateway.requests_to("/images/generations")[-1].json["model"] == "dall-e-3"
        data = json.loads(r.stdout)
        assert data["model"] == "dall-e-3" and data["provider"] == "oldazure" and not data["substituted"]
        assert "retired" not in r.stderr


# ---- bad input is caught before any request -----------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["   "], "empty"),
        (["x", "-m", "gpt-image-3"], "did you mean"),
        (["x", "-m", "dall-e-3", "--size", "512x512"], "1792x1024"),
        (["x", "-m", "gpt-image-1.5", "--quality", "ultra"], "low, medium, high"),
        (["x", "-m", "gpt-image-2", "--style", "vivid"], "allowed: watercolor"),
        (["x", "-m", "dall-e-3", "-n", "2"], "1 to 1"),
        (["x", "-m", "gpt-image-2", "--size", "1000x1000"], "steps of 16"),
        (["x", "-m", "gpt-image-2", "--format", "gif"], "png, jpeg, webp"),
        (["x" * 4001, "-m", "dall-e-3"], "4000"),
    ],
)
def test_bad_input_is_exit_2_before_any_request(cli, fake_openai, cache_dir, args, needle):
    r = cli("generate", *args)
    assert r.code == 2, r.stderr
    assert needle in r.stderr
    assert r.stdout == ""
    assert fake_openai.count() == 0
    if (cache_dir / "aigw.db").exists():
        assert db_rows(cache_dir, "SELECT * FROM attempts") == []


def test_custom_sizes_within_the_rules_are_accepted(cli, fake_openai):
    r = cli("generate", "x", "-m", "gpt-image-2", "--size", "1280x720")
    assert r.code == 0, r.stderr
    assert fake_openai.requests_to("/images/generations")[-1].json["size"] == "1280x720"


def test_no_key_is_exit_3_with_the_fix(cli):
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 3
    assert "OPENAI_API_KEY" in r.stderr and "aigw config keys set openai" in r.stderr


# ---- provider errors map to exit codes -------------------------------------------------------


def test_content_refusal_is_exit_5(cli, fake_openai):
    r = cli("generate", "something forbidden", "-m", "gpt-image-2")
    assert r.code == 5
    assert "refused" in r.stderr.lower() or "moderation" in r.stderr.lower() or "safety" in r.stderr.lower()


def test_bad_key_is_exit_4_with_a_hint(cli, fake_openai, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "bad-key")
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 4
    assert "401" in r.stderr and "hint:" in r.stderr


def test_insufficient_quota_is_not_retried(cli, fake_openai, cache_dir):
    from tests.fakes.openai import insufficient_quota

    fake_openai.inject(insufficient_quota(), route="/images/generations", times=None)
    r = cli("generate", "x", "-m", "gpt-image-2", "--json")
    assert r.code == 4
    assert fake_openai.count("/images/generations") == 1
    assert [a["failure_class"] for a in db_rows(cache_dir, "SELECT * FROM attempts")] == ["quota"]


def test_server_error_is_retried_then_served(cli, fake_openai, cache_dir):
    fake_openai.inject(Fault.http(500), route="/images/generations")
    r = cli("generate", "x", "-m", "gpt-image-2", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert [a["failure_class"] for a in data["attempts"]] == ["retryable", None]


def test_empty_data_is_an_empty_result_not_a_success(cli, fake_openai):
    fake_openai.inject(Fault(empty=True), route="/images/generations", times=None)
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 4
    assert "no image" in r.stderr


def test_traceback_only_with_verbose(cli, fake_openai):
    fake_openai.inject(Fault(malformed=True), route="/images/generations", times=None)
    quiet = cli("generate", "x", "-m", "gpt-image-2")
    assert quiet.code == 4 and "Traceback" not in quiet.stderr
    loud = cli("-v", "generate", "x", "-m", "gpt-image-2")
    assert loud.code == 4 and "Traceback" in loud.stderr


def test_substitution_names_a_default_the_user_did_not_give_as_the_models_default(cli, fake_openai):
    # `-m dall-e-3` with no --quality: the warning is about dall-e-3's default, not a "quality standard"
    # the user never typed.
    r = cli("generate", "a cat", "-m", "dall-e-3")
    assert r.code == 0, r.stderr
    assert "warning: dall-e-3's default quality standard is not offered by gpt-image-1.5; using medium" \
        in r.stderr.splitlines(), r.stderr


def test_a_prompt_over_the_models_limit_says_how_long_it_may_be(cli, fake_openai):
    r = cli("generate", "x" * 40000, "-m", "gpt-image-2")
    assert r.code == 2 and fake_openai.count() == 0
    assert r.stderr.strip().splitlines()[-1] == \
        "hint: shorten it to 32000 characters, or use a model that takes longer prompts"


def test_p_with_a_provider_that_serves_no_image_model_says_so(cli, monkeypatch):
    # Not "name one with -m": groq has none to name; azure has none until a deployment is mapped.
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test")
    r = cli("generate", "x", "-p", "groq")
    assert r.code == 2
    assert r.stderr.splitlines() == ["aigw: error: groq serves no image model",
                                     "hint: 'aigw models --kind image' lists the image models and who serves them"]
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-key")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "http://127.0.0.1:9")
    r = cli("generate", "x", "-p", "azure")
    assert r.code == 2 and "providers.azure.models" in r.stderr
    assert "hint: aigw config set providers.azure.models '{\"" in r.stderr
