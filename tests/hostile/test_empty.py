"""9.8: one answer per empty result. No words from non-silent audio is an empty result at every
provider, local included (exit 4 when nothing else serves); no words from silence is the right
answer (exit 0). A WAV whose header promises more than the file holds is refused before any request."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

import pytest

from tests.helpers import db_rows
from tests.hostile.conftest import KEY_ENV, assert_one_error, configure


def write_wav(path: Path, samples: list[int]) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return path


@pytest.fixture
def tone(tmp_path: Path) -> Path:
    """Two seconds of a loud 440 Hz tone: not silent, and no words in it."""
    return write_wav(tmp_path / "tone.wav", [int(8000 * math.sin(2 * math.pi * 440 * i / 16000)) for i in range(32000)])


@pytest.fixture
def silence(tmp_path: Path) -> Path:
    return write_wav(tmp_path / "silence.wav", [0] * 16000)  # one second (tiny.en hears "You" in two)


def test_no_words_from_a_tone_is_an_empty_result_locally_too(cli, tone):
    pytest.importorskip("faster_whisper")
    r = cli("transcribe", str(tone), "-m", "whisper-tiny.en")
    assert_one_error(r, 4)
    assert "local: empty transcript" in r.stderr and r.stdout == ""


def test_no_words_from_silence_is_an_answer_locally(cli, silence):
    pytest.importorskip("faster_whisper")
    r = cli("transcribe", str(silence), "-m", "whisper-tiny.en")
    assert r.code == 0, r.stderr
    assert r.stdout == "\n"


def test_no_words_from_silence_is_an_answer_in_the_cloud_too(cli, config_file, hostile, silence):
    hostile.mode = "empty-transcript"
    configure(config_file, hostile)
    r = cli("transcribe", str(silence), "-m", "whisper-1", "--json", env=KEY_ENV)
    assert r.code == 0, r.stderr
    assert '"text": ""' in r.stdout and '"provider": "hostile"' in r.stdout


def test_no_words_from_speech_fails_over_in_the_cloud(cli, config_file, cache_dir, hostile, healthy, speech_wav):
    hostile.mode = "empty-transcript"
    configure(config_file, hostile, healthy)
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", env=KEY_ENV)
    assert r.code == 0, r.stderr
    assert r.stdout.strip()
    rows = db_rows(cache_dir, "SELECT provider, failure_class FROM attempts ORDER BY hop")
    assert [tuple(x) for x in rows] == [("hostile", "empty_result"), ("backup", None)]


def test_a_truncated_wav_is_refused_before_any_request(cli, config_file, hostile, speech_wav, tmp_path):
    configure(config_file, hostile)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(speech_wav.read_bytes()[:20000])
    r = cli("transcribe", str(cut), "-m", "whisper-1", env=KEY_ENV)
    assert_one_error(r, 2)
    assert "is truncated" in r.stderr and hostile.count() == 0
