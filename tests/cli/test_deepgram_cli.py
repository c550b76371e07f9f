"""`aigw transcribe` end to end against FakeDeepgram, with only DEEPGRAM_API_KEY and the base URL set."""

from __future__ import annotations

import json

import pytest
import srt

from tests.fakes._server import Fault
from tests.fakes.deepgram import FakeDeepgram
from tests.helpers import db_rows

SENTENCES = "Welcome to the gateway. Every result is kept on disk."


@pytest.fixture
def fake(monkeypatch):
    with FakeDeepgram(api_key="dg-test", transcript=SENTENCES) as server:
        monkeypatch.setenv("DEEPGRAM_API_KEY", "dg-test")
        monkeypatch.setenv("AIGW_PROVIDERS__DEEPGRAM__BASE_URL", server.url)
        yield server
    assert not server.errors, server.errors


def test_transcribe_nova_3_end_to_end(cli, fake, speech_wav, cache_dir):
    r = cli("transcribe", str(speech_wav), "-m", "nova-3", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["provider"], data["model"], data["text"]) == ("deepgram", "nova-3", SENTENCES)
    assert data["duration_s"] == pytest.approx(4.865, abs=0.001)
    assert data["cost_usd"] == pytest.approx(0.0043 * 4.865 / 60, abs=1e-6)
    req = fake.last_request
    assert req.headers["authorization"] == "Token dg-test" and req.query["model"] == "nova-3"
    assert req.content_type == "audio/wav" and req.body == speech_wav.read_bytes()
    attempts = db_rows(cache_dir, "SELECT provider, http_status, served FROM attempts WHERE run_id = ?", data["id"])
    assert [tuple(a) for a in attempts] == [("deepgram", 200, 1)]


def test_stdout_is_only_the_transcript_and_srt_is_real(cli, fake, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "nova-3")
    assert r.code == 0, r.stderr
    assert r.stdout == SENTENCES + "\n"
    s = cli("transcribe", str(speech_wav), "-m", "nova-2", "-f", "srt")
    assert s.code == 0, s.stderr
    assert [sub.content for sub in srt.parse(s.stdout)] == ["Welcome to the gateway.", "Every result is kept on disk."]
    assert fake.last_request.query["model"] == "nova-2"


def test_a_rejected_key_is_exit_4_with_a_hint(cli, fake, speech_wav, cache_dir, monkeypatch):
    monkeypatch.setenv("DEEPGRAM_API_KEY", "bad-key")
    r = cli("transcribe", str(speech_wav), "-m", "nova-3")
    assert r.code == 4, r.stderr
    assert "401" in r.stderr and "Invalid credentials" in r.stderr and "DEEPGRAM_API_KEY" in r.stderr
    assert r.stdout == ""
    rows = db_rows(cache_dir, "SELECT failure_class, http_status FROM attempts")
    assert [tuple(row) for row in rows] == [("auth", 401)]


def test_audio_deepgram_cannot_decode_is_exit_2(cli, fake, tmp_path, speech_wav):
    junk = tmp_path / "talk.webm"  # probed with PyAV first: refused before it reaches Deepgram
    junk.write_bytes(b"\x00not really webm\x00" * 64)
    r = cli("transcribe", str(junk), "-m", "nova-3")
    assert r.code == 2 and "not an audio file" in r.stderr and fake.count("/v1/listen") == 0
    fake.inject(Fault(status=400, body={"err_code": "Bad Request", "request_id": "r",
                                        "err_msg": "Bad Request: failed to process audio: corrupt or unsupported data"}),
                route="/v1/listen")  # what Deepgram says of audio its decoder rejects
    r = cli("transcribe", str(speech_wav), "-m", "nova-3")
    assert r.code == 2, r.stderr
    assert "corrupt or unsupported data" in r.stderr and fake.count("/v1/listen") == 1


def test_an_injected_legacy_400_is_exit_2_and_not_retried(cli, fake, speech_wav):
    fake.inject(Fault(status=400, body={"err_code": "Bad Request", "err_msg": "Bad Request: bad options",
                                        "request_id": "r"}), route="/v1/listen")
    r = cli("transcribe", str(speech_wav), "-m", "nova-3")
    assert r.code == 2 and "bad options" in r.stderr and fake.count("/v1/listen") == 1


def test_any_deepgram_model_is_reachable_as_provider_slash_model(cli, fake, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "deepgram/nova-2-meeting", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["provider_model"] == "nova-2-meeting" and data["cost_usd"] is None
    assert fake.last_request.query["model"] == "nova-2-meeting"


def test_translate_is_exit_2_before_any_request(cli, fake, speech_wav):
    r = cli("transcribe", str(speech_wav), "-m", "nova-3", "--translate")
    assert r.code == 2 and "does not translate" in r.stderr
    assert fake.count() == 0


def test_models_check_uses_projects(cli, fake):
    r = cli("models", "--check", "-p", "deepgram")
    assert r.code == 0, r.stderr
    assert r.stdout.startswith("deepgram\treachable\tkey accepted")
    assert fake.last_request.path == "/v1/projects"
