"""Audio input: stdin spooled to disk, files checked (exists, readable, non-empty, audio), duration read.

Container, codec and duration come from PyAV (aigw/audio/probe.py), which reads headers without
decoding, so a cost estimate for an hour of audio costs milliseconds. A WAV's data chunk is checked
against the file's length, and a 16-bit PCM WAV can be checked for silence (its peak sample) when a
provider returns no words.
"""

from __future__ import annotations

import contextlib
import os
import struct
import sys
import uuid
from pathlib import Path
from typing import BinaryIO

from aigw import errors
from aigw.store import owner
from aigw.store.files import spool
from aigw.store.recovery import SPOOL_DIR
from aigw.types import AudioUpload

CONTENT_TYPES = {
    "wav": "audio/wav", "mp3": "audio/mpeg", "mpga": "audio/mpeg", "mpeg": "audio/mpeg", "m4a": "audio/mp4",
    "mp4": "audio/mp4", "flac": "audio/flac", "ogg": "audio/ogg", "oga": "audio/ogg", "opus": "audio/ogg",
    "webm": "audio/webm", "aac": "audio/aac",
}
# FFmpeg's demuxer (its first name) -> the extension providers recognise; `mov,mp4,m4a,...` is
# audio-only MP4 (m4a) unless it carries video. Anything else keeps the file's own extension.
DEMUXER_EXT = {"wav": "wav", "mp3": "mp3", "flac": "flac", "ogg": "ogg", "matroska": "webm", "aac": "aac",
               "mpeg": "mpeg", "mov": "m4a", "aiff": "aiff"}


def spool_stdin(cache_dir: Path) -> Path:
    """Named for its process (`stdin-<pid>-<start>-<hex>`), so that the next aigw removes the spool of
    one that was killed (store/recovery.py)."""
    dest = cache_dir / SPOOL_DIR / f"stdin-{owner.file_tag()}-{uuid.uuid4().hex}"
    try:
        size = spool(sys.stdin.buffer, dest, cache_dir=cache_dir)
    except OSError as exc:  # disk full, cache not writable: nothing sent yet, nothing left behind
        with contextlib.suppress(OSError):
            dest.unlink(missing_ok=True)
        raise errors.AigwError(f"cannot spool standard input to {dest.parent}: {exc.strerror or exc}",
                               hint="free space in the cache directory, or give the audio as a file path "
                                    "instead of '-'") from exc
    if size == 0:
        dest.unlink(missing_ok=True)
        raise errors.UsageError("no audio on standard input", hint="pipe a file in: aigw transcribe - < talk.mp3")
    return dest


def probe(path: Path, *, display_name: str | None = None) -> AudioUpload:
    name = display_name or str(path)
    if not path.exists():
        raise errors.UsageError(f"no such file: {name}", hint="check the path (ls); '-' reads the audio from stdin")
    if path.is_dir():
        raise errors.UsageError(f"{name} is a directory, not an audio file",
                                hint="name one file in it: wav, mp3, m4a, flac, ogg or webm")
    if not os.access(path, os.R_OK):
        raise errors.UsageError(f"cannot read {name}: permission denied", hint=f"chmod +r {name}")
    size = path.stat().st_size
    if size == 0:
        raise errors.UsageError(f"{name} is empty", hint="give a file with audio in it (0 bytes: a failed "
                                "recording or copy?)")
    from aigw.audio.probe import probe_media

    info = probe_media(path, name=name)
    ext = path.suffix.lower().lstrip(".")
    kind = DEMUXER_EXT.get(info.container.split(",")[0], ext or "bin")
    if kind == "m4a" and info.has_video:
        kind = "mp4"
    if kind == "wav":
        check_wav_length(path, name)
    filename = path.name if ext == kind or (ext in CONTENT_TYPES and CONTENT_TYPES[ext] == CONTENT_TYPES.get(kind)) \
        else f"{path.stem or 'audio'}.{kind}"
    return AudioUpload(
        path=path, filename=filename, content_type=CONTENT_TYPES.get(kind, "application/octet-stream"),
        size_bytes=size, duration_s=info.duration_s or None,
    )


# A data chunk size that means "unknown" (written by tools that stream WAV before knowing its length).
WAV_UNKNOWN_SIZES = {0, 0xFFFFFFFF}
SILENCE_PEAK = 328  # 16-bit samples never past 1% of full scale (-40 dBFS): nothing a model could hear


def _wav_data_chunk(fh: BinaryIO) -> tuple[int, int] | None:
    """(offset, declared size) of a RIFF/WAVE file's `data` chunk, walking the chunk list
    (RIFF: 4-byte id, 4-byte little-endian size, payload padded to an even length)."""
    head = fh.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    while True:
        chunk = fh.read(8)
        if len(chunk) < 8:
            return None
        cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"data":
            return fh.tell(), size
        fh.seek(size + (size & 1), os.SEEK_CUR)


def check_wav_length(path: Path, name: str) -> None:
    """A WAV whose header promises more audio than the file holds is refused before any request:
    a provider would bill (or reject) a file that was cut off in a copy or a crash."""
    with open(path, "rb") as fh:
        found = _wav_data_chunk(fh)
    if found is None or found[1] in WAV_UNKNOWN_SIZES:
        return
    offset, declared = found
    held = path.stat().st_size - offset
    if held < declared:
        raise errors.UsageError(f"{name} is truncated: its header promises {declared:,} bytes of audio, "
                                f"the file holds {max(held, 0):,}",
                                hint="copy or export the file again; a recording cut off by a crash needs repairing "
                                     "(e.g. ffmpeg -i in.wav out.wav)")


def is_silent(path: Path) -> bool | None:
    """True when the audio never rises above SILENCE_PEAK, False when it does, None when it cannot
    be decoded. A 16-bit PCM WAV is read as it is; any other file is decoded with PyAV."""
    import array
    import wave

    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2 or w.getcomptype() != "NONE":
                return _decoded_is_silent(path)
            while True:
                frames = w.readframes(65536)
                if not frames:
                    return True
                samples = array.array("h", frames[: len(frames) - len(frames) % 2])
                if sys.byteorder == "big":
                    samples.byteswap()
                if samples and max(max(samples), -min(samples)) > SILENCE_PEAK:
                    return False
    except (wave.Error, EOFError, OSError):
        return _decoded_is_silent(path)


def _decoded_is_silent(path: Path) -> bool | None:
    from aigw.audio.pcm import iter_pcm

    try:
        for block in iter_pcm(path, name=path.name):
            if len(block) and int(abs(block.astype("int32")).max()) > SILENCE_PEAK:
                return False
        return True
    except errors.UsageError:
        return None
