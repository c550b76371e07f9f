"""Real-time factor of the bundled faster-whisper `tiny.en` through `aigw transcribe`, on this
machine: whole file, and the same file sent in chunks (`--chunk-seconds`).

    python benchmarks/local_rtf.py                   # a 5-minute file, chunks of 60 s
    python benchmarks/local_rtf.py --minutes 10 --chunk-seconds 120 --threads 2

The file is assembled from the committed espeak-ng sentences with pauses (tests/audio_fixtures.py).
Each mode runs `python -m aigw transcribe FILE -m whisper-tiny.en` in a fresh process in a temporary
workspace (its own cache and config); the wall time includes start-up and loading the model, as a
user sees it. RTF = wall time / audio duration (below 1: faster than real time). Word recall is the
share of the spoken words (lower-cased, without punctuation) found in the transcript, in order.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from difflib import SequenceMatcher
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.audio_fixtures import assemble  # noqa: E402

WORD = re.compile(r"[a-z0-9']+")


def recall(spoken: str, heard: str) -> float:
    a, b = WORD.findall(spoken.lower()), WORD.findall(heard.lower())
    matched = sum(block.size for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    return matched / max(1, len(a))


def run(file: Path, work: Path, extra: list[str], threads: int) -> tuple[float, str]:
    env = {**os.environ, "AIGW_CACHE_DIR": str(work / "cache"), "AIGW_CONFIG": str(work / "config.toml"),
           "AIGW_PROVIDERS__LOCAL__THREADS": str(threads)}
    for name in ("OPENAI_API_KEY", "GROQ_API_KEY", "DEEPGRAM_API_KEY"):
        env.pop(name, None)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "aigw", "transcribe", str(file), "-m", "whisper-tiny.en", *extra],
                          env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"aigw failed ({proc.returncode}): {proc.stderr}")
    return elapsed, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--chunk-seconds", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = work / "talk.wav"
        truth = assemble(src, args.minutes * 60)
        spoken = " ".join(s.text for s in truth)
        print(f"# {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"threads={args.threads}; {args.minutes:g} min of speech ({len(truth)} sentences)")
        print("| mode | wall s | RTF | word recall |")
        print("|---|---:|---:|---:|")
        for label, extra in (("whole file", []), (f"chunks of {args.chunk_seconds:g} s", ["--chunk-seconds",
                                                                                          str(args.chunk_seconds)])):
            elapsed, text = run(src, work / label.replace(" ", "-"), extra, args.threads)
            print(f"| {label} | {elapsed:.1f} | {elapsed / (args.minutes * 60):.3f} | {recall(spoken, text):.1%} |")


if __name__ == "__main__":
    main()
