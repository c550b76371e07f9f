"""Audio as data: probe a file, decode it to 16 kHz mono PCM, re-encode it compactly, and cut it
into chunks that fit a provider's limits, all streaming (memory flat as files grow).

PyAV (FFmpeg's libraries, bundled in its wheels with their own codecs) is imported inside the
functions that need it, so `aigw --help` never pays for it.

    probe.py    container, codec, duration, channels, sample rate; exit 2 for what is not audio
    pcm.py      any input -> 16 kHz mono int16 blocks, streaming
    encode.py   int16 blocks -> a compact file (FLAC, MP3 or WAV) a provider accepts
    split.py    pure planning: an energy envelope and chunk boundaries at silences, with overlap
    fit.py      the whole step: as-is, re-encoded, or chunk files in a private temp dir
    guards.py   quality guards on a chunk's transcript (repetition loops, compression ratio)
    merge.py    chunk transcripts onto the whole timeline, overlap duplicates removed
"""
