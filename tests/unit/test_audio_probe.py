"""Probe and decode every container aigw takes with PyAV alone (no ffmpeg binary); refuse what is
not audio with exit 2 and a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from aigw import errors
from aigw.audio.pcm import iter_pcm
from aigw.audio.probe import probe_media
from aigw.services.audio_input import probe
from tests.audio_media import KINDS, make

SPOKEN_S = 3.25  # fixture s2


@pytest.mark.parametrize(("ext", "container", "acodec", "vcodec"), KINDS, ids=[k[0] for k in KINDS])
def test_every_container_is_probed_and_decoded(tmp_path: Path, ext: str, container: str, acodec: str,
                                               vcodec: str | None) -> None:
    path = tmp_path / f"talk.{ext}"
    make(path, container, acodec, vcodec)
    info = probe_media(path, name=path.name)
    assert info.channels == 2 and info.sample_rate == 48000
    assert info.has_video == (vcodec is not None)
    assert info.duration_s is not None and abs(info.duration_s - SPOKEN_S) < 0.2
    samples = sum(len(b) for b in iter_pcm(path, name=path.name))
    assert abs(samples / 16000 - SPOKEN_S) < 0.2   # decoded and resampled to 16 kHz mono
    upload = probe(path)
    assert upload.duration_s == info.duration_s and upload.size_bytes == path.stat().st_size


def test_video_without_audio_is_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "silent-film.mp4"
    make(path, "mp4", None, "mpeg4")
    with pytest.raises(errors.UsageError, match="has no audio stream") as caught:
        probe(path)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("content", [b"", b"\x00" * 4096, b"RIFF\x10\x00\x00\x00WAVEjunk", b"ID3" + b"\xff" * 20])
def test_empty_or_corrupt_is_exit_2(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.mp3"
    path.write_bytes(content)
    with pytest.raises(errors.UsageError, match="empty|not an audio file|no audio stream") as caught:
        probe(path)
    assert caught.value.exit_code == 2 and "Errno" not in caught.value.message
