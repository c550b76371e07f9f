"""`aigw models`: what exists, what is usable now, and whether providers answer."""

from __future__ import annotations

import json

from tests.fakes._server import Fault


def test_a_pipe_gets_one_id_per_line(cli):
    r = cli("models")
    assert r.code == 0
    ids = r.stdout.splitlines()
    assert "gpt-image-2" in ids and "whisper-1" in ids and "dall-e-3" in ids


def test_available_with_no_keys_lists_only_what_runs_on_this_machine(cli):
    r = cli("models", "--available", "--json")
    assert [m["id"] for m in json.loads(r.stdout)] == ["whisper-tiny.en"]


def test_available_with_an_openai_key_adds_openai_models(cli, fake_openai):
    rows = json.loads(cli("models", "--available", "--kind", "image", "--json").stdout)
    ids = [m["id"] for m in rows]
    assert "gpt-image-2" in ids and "dall-e-3" in ids  # served by substitution
    dalle = next(m for m in rows if m["id"] == "dall-e-3")
    assert dalle["providers"][0]["retired"] == "2026-05-12" and dalle["providers"][0]["successor"] == "gpt-image-1"


def test_available_hides_retired_models_when_substitution_is_off(cli, fake_openai, config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text("[routing]\nsubstitute_retired = false\n")
    ids = cli("models", "--available").stdout.splitlines()
    assert "gpt-image-2" in ids and "dall-e-3" not in ids


def test_json_rows_carry_kind_providers_price_and_latency(cli, fake_openai):
    row = next(m for m in json.loads(cli("models", "--json").stdout) if m["id"] == "whisper-1")
    assert row["kind"] == "audio" and row["price"] == "$0.006/min" and row["typical_latency_s"]
    assert row["providers"][0] == {**row["providers"][0], "name": "openai", "configured": True}


def test_a_gateway_listing_a_model_appears_as_its_provider(cli, config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text('[providers.kong]\ntype = "openai"\nbase_url = "http://127.0.0.1:1"\nauth = "none"\n'
                           'models = ["dall-e-3"]\n')
    rows = json.loads(cli("models", "--available", "--provider", "kong", "--json").stdout)
    assert [m["id"] for m in rows] == ["dall-e-3"]
    kong = next(p for p in rows[0]["providers"] if p["name"] == "kong")
    assert kong["configured"] and kong["retired"] is None


def test_check_reports_reachable_and_key_accepted(cli, fake_openai):
    r = cli("models", "--check", "--json")
    assert r.code == 0, r.stderr
    openai = next(x for x in json.loads(r.stdout) if x["provider"] == "openai")
    assert openai["reachable"] is True and openai["key_accepted"] is True and openai["latency_ms"] >= 0
    assert fake_openai.requests_to("/models")[0].method == "GET"
    assert fake_openai.count("/images/generations") == 0  # never a paid request


def test_check_with_a_rejected_key_is_exit_4(cli, fake_openai, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "bad-key")
    r = cli("models", "--check")
    assert r.code == 4 and "KEY REJECTED" in r.stdout


def test_open_circuits_show_when_they_close(cli, fake_openai, config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text("[routing.breaker]\nfailures = 1\ncooldown = 600\n")
    fake_openai.inject(Fault.http(500), route="/images/generations", times=None)
    assert cli("generate", "x", "-m", "gpt-image-2").code == 4
    row = next(m for m in json.loads(cli("models", "--json").stdout) if m["id"] == "gpt-image-2")
    assert row["providers"][0]["circuit_open_until"] and row["providers"][0]["circuit"] == "open"


def test_audio_formats_are_what_format_takes(cli):
    # gpt-4o models answer json only, but `--format text` (the default) works: the row says so,
    # as the refusal of srt does ("allowed: json, text").
    rows = {m["id"]: m for m in json.loads(cli("models", "--kind", "audio", "--json").stdout)}
    assert rows["gpt-4o-transcribe"]["formats"] == ["text", "json"]  # no timestamps: no timed format
    assert rows["whisper-1"]["formats"] == ["text", "json", "verbose_json", "srt", "vtt", "tsv"]
    assert rows["nova-3"]["formats"] == rows["gpt-4o-transcribe-diarize"]["formats"] == rows["whisper-1"]["formats"]


def test_a_fixed_key_blocked_by_its_circuit_is_told_how_to_close_it(cli, fake_openai, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "bad-key")
    assert cli("generate", "x", "-m", "gpt-image-2").code == 4  # the 401 opens openai's circuit
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    r = cli("generate", "x", "-m", "gpt-image-2")
    assert r.code == 4
    lines = r.stderr.strip().splitlines()
    # The skip is said once, by the error, and the hint names the command that closes the circuit.
    assert [line for line in lines if "circuit open until" in line] == [lines[-2]], r.stderr
    assert lines[-1].startswith("hint: ") and "'aigw models --check'" in lines[-1]
    assert cli("models", "--check").code == 0
    assert cli("generate", "x", "-m", "gpt-image-2").code == 0


def test_a_new_key_stored_closes_the_circuit_the_old_one_opened(cli, fake_openai, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "bad-key")
    assert cli("generate", "x", "-m", "gpt-image-2").code == 4  # the 401 opens openai's circuit at once
    monkeypatch.delenv("OPENAI_API_KEY")
    r = cli("config", "keys", "set", "openai", input="sk-test\n")
    assert r.code == 0 and "openai: circuit closed" in r.stderr, r.stderr
    assert cli("generate", "x", "-m", "gpt-image-2").code == 0  # not kept out until the cooldown ends
    again = cli("config", "keys", "set", "openai", input="sk-test\n")
    assert again.code == 0 and "circuit" not in again.stderr  # nothing was open: nothing said


def test_a_key_the_environment_overrides_leaves_the_circuit_as_it_is(cli, fake_openai, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "bad-key")
    assert cli("generate", "x", "-m", "gpt-image-2").code == 4
    r = cli("config", "keys", "set", "openai", input="sk-test\n")  # OPENAI_API_KEY still wins
    assert r.code == 0 and "circuit" not in r.stderr
    row = next(m for m in json.loads(cli("models", "--json").stdout) if m["id"] == "gpt-image-2")
    assert row["providers"][0]["circuit"] == "open"
