"""What an audio or video file holds, read from its headers by PyAV: container, codec, duration,
channels, sample rate. A file with no audio stream, or one FFmpeg cannot open, is exit 2."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aigw import errors

READABLE = "wav, mp3, m4a, mp4, mpeg, mpga, flac, ogg, webm, or a video with an audio track"


@dataclass(frozen=True)
class MediaInfo:
    container: str          # FFmpeg's demuxer name(s), e.g. "wav", "mov,mp4,m4a,3gp,3g2,mj2", "ogg"
    codec: str              # the audio stream's codec, e.g. "pcm_s16le", "mp3", "aac", "opus"
    duration_s: float | None
    channels: int
    sample_rate: int
    has_video: bool = False


def probe_media(path: Path, *, name: str) -> MediaInfo:
    """Headers only (no decoding), so a three-hour file costs milliseconds. When the container does
    not state a duration (a raw stream, a WAV written while streaming), the audio stream's is used."""
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            audio = next(iter(container.streams.audio), None)
            if audio is None:
                raise errors.UsageError(f"{name} has no audio stream",
                                        hint="give a recording with sound in it: " + READABLE)
            duration = _duration(container, audio)
            ctx = audio.codec_context
            return MediaInfo(
                container=container.format.name, codec=ctx.name, duration_s=duration,
                channels=ctx.channels or 0, sample_rate=ctx.sample_rate or audio.rate or 0,
                has_video=bool(container.streams.video),
            )
    except errors.UsageError:
        raise
    except (av.FFmpegError, ValueError, OSError, IndexError) as exc:
        raise errors.UsageError(f"{name} is not an audio file aigw can read ({_why(exc)})",
                                hint="use " + READABLE) from exc


def _duration(container: object, audio: object) -> float | None:
    raw = getattr(container, "duration", None)  # in av.time_base (microseconds)
    if raw and raw > 0:
        return float(raw) / 1_000_000
    if getattr(audio, "duration", None) and getattr(audio, "time_base", None):
        return float(audio.duration * audio.time_base)  # type: ignore[attr-defined]
    return None


def _why(exc: BaseException) -> str:
    # FFmpeg's errors carry "[Errno N] reason: 'file'": the reason alone reads best.
    reason = getattr(exc, "strerror", None)
    return str(reason or exc).strip() or type(exc).__name__
