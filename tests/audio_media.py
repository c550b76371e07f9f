"""Small media files in every container aigw takes, made at test time with PyAV from a fixture
sentence (no ffmpeg binary): (extension, container, audio codec, video codec or None)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from tests.fakes._speech import FIXTURES, decode

KINDS = [
    ("mp3", "mp3", "libmp3lame", None),
    ("mpga", "mp3", "libmp3lame", None),
    ("m4a", "ipod", "aac", None),
    ("mp4", "mp4", "aac", "mpeg4"),
    ("mpeg", "mpeg", "mp2", "mpeg1video"),
    ("wav", "wav", "pcm_s16le", None),
    ("webm", "webm", "libopus", None),
    ("ogg", "ogg", "libopus", None),
    ("flac", "flac", "flac", None),
    ("mkv", "matroska", "aac", "libvpx"),
]


def speech(rate: int) -> np.ndarray:
    pcm = decode((FIXTURES / "s2.flac").read_bytes())[0]
    idx = (np.arange(int(len(pcm) * rate / 16000)) * 16000 // rate)  # type: ignore[arg-type]
    return pcm[idx]  # type: ignore[index, no-any-return]


def make(path: Path, container: str, audio_codec: str | None, video_codec: str | None, *, rate: int = 48000) -> None:
    import av

    with av.open(str(path), "w", format=container) as out:
        vstream = None
        if video_codec:
            vstream = out.add_stream(video_codec, rate=25)  # MPEG-1 video takes only standard rates
            vstream.width, vstream.height, vstream.pix_fmt = 64, 48, "yuv420p"
        astream = out.add_stream(audio_codec, rate=rate, layout="stereo") if audio_codec else None
        if astream is not None:
            pcm = speech(rate)
            stereo = np.repeat(pcm, 2).reshape(1, -1)
            size = astream.codec_context.frame_size or 1024
            for i, at in enumerate(range(0, stereo.shape[1] // 2, size)):
                block = stereo[:, at * 2:(at + size) * 2]
                if block.shape[1] < size * 2 and astream.codec_context.frame_size:
                    block = np.pad(block, ((0, 0), (0, size * 2 - block.shape[1])))
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="s16", layout="stereo")
                frame.sample_rate, frame.pts, frame.time_base = rate, at, Fraction(1, rate)
                for packet in astream.encode(frame):
                    out.mux(packet)
            for packet in astream.encode(None):
                out.mux(packet)
        if vstream is not None:
            for i in range(75):
                frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 3 % 256, dtype=np.uint8), format="rgb24")
                frame.pts = i
                for packet in vstream.encode(frame):
                    out.mux(packet)
            for packet in vstream.encode(None):
                out.mux(packet)
