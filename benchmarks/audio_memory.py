"""Peak memory of a long recording's path through aigw, for a 50 MB and a 500 MB 16-bit WAV
(26 minutes and 4.3 hours of 16 kHz mono speech): it should not grow with the file (target: the
500 MB peak within 20% of the 50 MB one), because decoding, re-encoding and splitting stream.

    python benchmarks/audio_memory.py                 # both sizes, both modes
    python benchmarks/audio_memory.py --sizes 50 200  # other sizes, in MB

Modes, each in a fresh process whose RSS high-water mark (VmHWM) is read as it ends:
  fit         aigw.audio.fit.fit() alone: decode, FLAC re-encode, energy envelope, chunk files
  transcribe  `python -m aigw transcribe FILE -m whisper-1 -f srt` against a loopback fake OpenAI
              enforcing the 26,214,400-byte limit (the fake runs in this process, not measured)
The input is assembled from the committed espeak-ng sentences (tests/audio_fixtures.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.audio_fixtures import assemble  # noqa: E402

FIT = """
import sys, tempfile
from pathlib import Path
from aigw.audio.fit import Limits, fit
with tempfile.TemporaryDirectory() as work:
    fitted = fit(Path(sys.argv[1]), Limits(upload_bytes=26_214_400), Path(work), name="x")
    print(len(fitted.chunks), end=" ")
print([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1])
"""

# Runs aigw's CLI in this child and reports the child's own high-water mark at exit.
TRANSCRIBE = """
import atexit, sys
def hwm():
    kb = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
    sys.__stderr__.write(f"VmHWM {kb}\\n")
atexit.register(hwm)
from aigw.cli.main import run
run(sys.argv[1:])
"""


def peak_fit(src: Path) -> tuple[int, str]:
    out = subprocess.run([sys.executable, "-c", FIT, str(src)], capture_output=True, text=True, check=True).stdout
    chunks, kb = out.split()
    return int(kb), f"{chunks} chunks"


def peak_transcribe(src: Path, work: Path) -> tuple[int, str]:
    from tests.fakes.openai import FakeOpenAI

    with FakeOpenAI() as fake:
        env = {**os.environ, "OPENAI_BASE_URL": fake.base_url, "OPENAI_API_KEY": "test",
               "AIGW_CACHE_DIR": str(work / "cache"), "AIGW_CONFIG": str(work / "config.toml")}
        proc = subprocess.run([sys.executable, "-c", TRANSCRIBE, "transcribe", str(src), "-m", "whisper-1", "-f", "srt"],
                              env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        sent = [r.body_size for r in fake.requests_to("/audio/transcriptions")]
    kb = int(next(line for line in proc.stderr.splitlines() if line.startswith("VmHWM")).split()[1])
    return kb, f"{len(sent)} requests, largest {max(sent):,} bytes"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 500], help="input sizes in MB")
    ap.add_argument("--modes", nargs="+", default=["fit", "transcribe"], choices=["fit", "transcribe"])
    args = ap.parse_args()
    print(f"# {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| mode | input | audio | peak RSS MB | wall s | what |")
    print("|---|---:|---:|---:|---:|---|")
    peaks: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            src = Path(tmp) / f"in-{size}.wav"
            assemble(src, size * 1_000_000 / 32_000)
            for mode in args.modes:
                t0 = time.perf_counter()
                kb, what = peak_fit(src) if mode == "fit" else peak_transcribe(src, Path(tmp) / f"w-{size}")
                mb = kb / 1024
                peaks.setdefault(mode, []).append(mb)
                print(f"| {mode} | {src.stat().st_size / 1e6:.0f} MB | {src.stat().st_size / 32_000 / 60:.0f} min "
                      f"| {mb:.0f} | {time.perf_counter() - t0:.0f} | {what} |", flush=True)
            src.unlink()
    for mode, values in peaks.items():
        if len(values) > 1:
            print(f"{mode}: largest / smallest input peak = {values[-1] / values[0]:.2f}x (target <= 1.20x)")


if __name__ == "__main__":
    main()
