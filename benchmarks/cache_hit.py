"""How long a result-cache hit takes, beside reading the same files and beside the paid run.

    python benchmarks/cache_hit.py [--runs 30] [--big-mb 20]

Against the test suite's fake OpenAI on 127.0.0.1 (tests/fakes/openai.py), in one isolated
workspace: one paid run per case fills the cache, the fake is then stopped (a hit that touched the
network would fail), and each case is served from the cache `--runs` times the way the CLI calls
it (an engine opened per request: its run log and HTTP client). Beside it: reading the result files
(and, for audio, the recording, which a lookup must hash) with Python, cold-cache effects aside.

Cases: a 1024x1024 PNG from gpt-image-2 (`--cache`, since OpenAI takes no seed), the transcript of
examples/hello.wav, and the transcript of a `--big-mb` MB WAV (its key is the SHA-256 of the bytes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import time
import wave
from pathlib import Path
from typing import Any

from _common import ROOT, aigw_workspace, machine, make_engine


def _big_wav(path: Path, megabytes: int) -> Path:
    """Speech followed by quiet noise, `megabytes` long: a real WAV the fake can time."""
    with wave.open(str(ROOT / "examples" / "hello.wav")) as src:
        params, frames = src.getparams(), src.readframes(src.getnframes())
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        out.writeframes(frames)
        filler = os.urandom(1 << 20)
        while path.stat().st_size < megabytes << 20:
            out.writeframes(bytes(b & 0x03 for b in filler[: 1 << 16]) * 16)
    return path


SERVE_MS: list[float] = []


def _time_serve() -> None:
    """Time CacheUse.serve (the lookup, checks, links and the hit's log commit) apart from what
    every invocation pays (settings, opening the run log, planning)."""
    from aigw.engine.cache import CacheUse

    inner = CacheUse.serve

    def timed(self: Any) -> Any:
        start = time.perf_counter()
        try:
            return inner(self)
        finally:
            SERVE_MS.append((time.perf_counter() - start) * 1000)

    CacheUse.serve = timed  # type: ignore[method-assign]


def _read(paths: list[Path]) -> None:
    import hashlib

    for path in paths:
        hashlib.sha256(path.read_bytes())


async def _once(kind: str, arg: Any, options: Any) -> tuple[Any, float]:
    from aigw.types import ImageRequest, TranscribeRequest

    request: Any = (ImageRequest(prompt="a lighthouse at dusk", model="gpt-image-2") if kind == "image"
                    else TranscribeRequest(file=arg, model="whisper-1"))
    engine = make_engine()  # settings and catalog are loaded before the clock starts
    start = time.perf_counter()
    async with engine:
        served = await engine.run(request, options)
    return served.result, (time.perf_counter() - start) * 1000


def main() -> int:
    import sys

    sys.path.insert(0, str(ROOT))
    from aigw.engine.planning import RunOptions
    from tests.fakes.openai import FakeOpenAI

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--big-mb", type=int, default=20)
    args = parser.parse_args()
    options = RunOptions(cache=True)
    _time_serve()
    rows = []
    with aigw_workspace({}) as home:
        big = _big_wav(home / "big.wav", args.big_mb)
        hello = home / "hello.wav"
        shutil.copy(ROOT / "examples" / "hello.wav", hello)
        cases = [("image 1024x1024 png", "image", None), ("transcript, hello.wav", "audio", hello),
                 (f"transcript, {args.big_mb} MB wav", "audio", big)]
        paid: dict[str, float] = {}
        with FakeOpenAI(max_body_bytes=None) as fake:
            os.environ.update(OPENAI_BASE_URL=fake.base_url, OPENAI_API_KEY="bench")
            for label, kind, arg in cases:
                result, paid[label] = asyncio.run(_once(kind, arg, options))
                assert not result.cache_hit
        os.environ["OPENAI_BASE_URL"] = "http://127.0.0.1:9"  # the fake is gone: nothing may be sent
        for label, kind, arg in cases:
            hits, reads = [], []
            SERVE_MS.clear()
            for _ in range(args.runs):
                result, ms = asyncio.run(_once(kind, arg, options))
                assert result.cache_hit, "a miss: the benchmark would measure a run"
                hits.append(ms)
                files = [Path(p) for p in result.paths] + ([arg] if arg is not None else [])
                start = time.perf_counter()
                _read(files)
                reads.append((time.perf_counter() - start) * 1000)
            size = sum(Path(p).stat().st_size for p in result.paths)
            rows.append((label, size, paid[label], statistics.median(hits), statistics.median(SERVE_MS),
                         statistics.median(reads)))
    print(f"{machine()}; {args.runs} hits per case, medians\n")
    print("| case | result bytes | paid run ms (fake, 0 latency) | hit ms | of which serve() ms "
          "| read + sha256 of the files ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, size, paid_ms, hit_ms, serve_ms, read_ms in rows:
        print(f"| {label} | {size:,} | {paid_ms:.1f} | {hit_ms:.1f} | {serve_ms:.1f} | {read_ms:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
