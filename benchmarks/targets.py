"""The overhead figures of issue 10 item 5, each beside the bare client, from one command:

    python -m benchmarks                  # all four figures (a few minutes on 2 busy cores)
    python -m benchmarks --quick          # fewer rounds and requests: a rough look in under a minute
    python -m benchmarks --only oneshot   # one figure: session, batch or oneshot (repeatable)

Every figure is a ratio or a difference between aigw and a bare-client twin measured in alternating
rounds (bare, aigw, aigw, bare, ...), and the median over the rounds is reported: on a shared machine
the absolute times drift by tens of percent from minute to minute, and the paired rounds see the
same drift. All traffic goes to the zero-latency fake (fastfake.py) on 127.0.0.1, in its own process.

  session   one aigw session (one run log, one HTTP client) running image requests, beside one
            shared httpx.AsyncClient posting the same JSON: the time aigw adds per request at
            concurrency 1, and its throughput over the bare client's at concurrency 32. aigw writes
            every result file and every run-log row as usual.
  batch     `aigw generate --batch FILE --concurrency 32` over 1,000 prompts, as a process, beside a
            bare script (same imports as below) sending the same 1,000 requests at concurrency 32:
            throughput ratio, process start included on both sides. Shown only when this aigw has
            --batch.
  oneshot   `aigw generate PROMPT -m MODEL` as a process, beside a script that imports typer, rich,
            httpx, pydantic-settings and platformdirs, posts the same request with httpx, decodes
            the image, writes it to a file and prints its path: wall-time ratio.

Targets: +0.3 ms at c=1, 0.85x at c=32, 0.8x for the batch, 1.1x for one-shot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import MODEL, PROMPT, aigw_workspace, machine, run_load  # noqa: E402
from benchmarks.fastfake import FastFake  # noqa: E402

TARGET_ADDED_MS = 0.3
TARGET_SESSION_RATIO = 0.85
TARGET_BATCH_RATIO = 0.8
TARGET_ONESHOT_RATIO = 1.1
BATCH_ITEMS = 1000
BATCH_CONCURRENCY = 32

# The bare twin of a one-shot `aigw generate`: the same stack imported, the same request, the
# image decoded and written, its path printed.
BARE_ONESHOT = '''
import base64, sys
import typer, rich, httpx, pydantic_settings, platformdirs  # the stack aigw is built on
url, model, prompt, out = sys.argv[1:5]
resp = httpx.post(url + "/images/generations", json={"model": model, "prompt": prompt, "n": 1}, timeout=300)
resp.raise_for_status()
with open(out, "wb") as fh:
    fh.write(base64.b64decode(resp.json()["data"][0]["b64_json"]))
print(out)
'''

# The bare twin of `aigw generate --batch`: one prompt per line, CONCURRENCY requests in flight on
# one client, each image decoded (not written: the bare client of the session figures writes nothing).
BARE_BATCH = '''
import asyncio, base64, sys
import typer, rich, httpx, pydantic_settings, platformdirs  # the stack aigw is built on
url, model, path, concurrency = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

async def main():
    prompts = iter(open(path).read().splitlines())
    async with httpx.AsyncClient(timeout=300) as client:
        async def worker():
            for prompt in prompts:
                resp = await client.post(url + "/images/generations", json={"model": model, "prompt": prompt, "n": 1})
                resp.raise_for_status()
                base64.b64decode(resp.json()["data"][0]["b64_json"])
        await asyncio.gather(*(worker() for _ in range(concurrency)))

asyncio.run(main())
'''


@dataclass
class Figure:
    label: str
    bare: float
    aigw: float
    value: float  # the figure itself: added ms, or a ratio
    unit: str  # "ms", "req/s", "s"
    target: str
    met: bool
    note: str = ""  # a steadier companion figure (CPU time), when there is one

    def line(self) -> str:
        fmt = (lambda v: f"{v:8.3f}") if self.unit == "ms" else (lambda v: f"{v:8.1f}") if self.unit == "req/s" \
            else (lambda v: f"{v * 1000:8.0f}")
        unit = "ms" if self.unit in ("ms", "s") else self.unit
        value = f"{self.value:+.3f} ms" if self.unit == "ms" else f"{self.value:.2f}x"
        return (f"  {self.label:<34} bare {fmt(self.bare)} {unit:<5}  aigw {fmt(self.aigw)} {unit:<5}  "
                f"-> {value:<10} [target {self.target}: {'met' if self.met else 'MISSED'}]"
                + (f"; {self.note}" if self.note else ""))


# ---- session: aigw in one process beside a shared httpx client -----------------------------------


async def session_figures(fake: FastFake, rounds: int, requests_c1: int, requests_c32: int) -> list[Figure]:
    from benchmarks.overhead import Bench

    bench = Bench(fake.url(), fake.url())
    await bench.open(litellm=False)
    try:
        added: list[float] = []
        cpu_added: list[float] = []
        bare_ms: list[float] = []
        aigw_ms: list[float] = []
        for r in range(rounds):
            pair = {}
            for variant in _alternate(("bare", "aigw"), r):
                call = bench.bare if variant == "bare" else bench.aigw_reuse
                pair[variant] = await run_load(variant, call, requests=requests_c1, concurrency=1, warmup=50)
            added.append(pair["aigw"].mean_ms - pair["bare"].mean_ms)
            cpu_added.append((pair["aigw"].cpu_us - pair["bare"].cpu_us) / 1000)
            bare_ms.append(pair["bare"].mean_ms)
            aigw_ms.append(pair["aigw"].mean_ms)
            print(f"   c=1  round {r + 1}: bare {pair['bare'].mean_ms:.3f} ms, aigw {pair['aigw'].mean_ms:.3f} ms,"
                  f" added {added[-1]:+.3f} ms", flush=True)
        ratios: list[float] = []
        cpu_ratios: list[float] = []
        bare_rps: list[float] = []
        aigw_rps: list[float] = []
        for r in range(rounds):
            pair = {}
            for variant in _alternate(("bare", "aigw"), r):
                call = bench.bare if variant == "bare" else bench.aigw_reuse
                pair[variant] = await run_load(variant, call, requests=requests_c32, concurrency=32, warmup=100)
            ratios.append(pair["aigw"].rps / pair["bare"].rps)
            cpu_ratios.append(pair["bare"].cpu_us / pair["aigw"].cpu_us)
            bare_rps.append(pair["bare"].rps)
            aigw_rps.append(pair["aigw"].rps)
            print(f"   c=32 round {r + 1}: bare {pair['bare'].rps:.0f} req/s, aigw {pair['aigw'].rps:.0f} req/s,"
                  f" {ratios[-1]:.2f}x", flush=True)
    finally:
        await bench.close()
    add = statistics.median(added)
    ratio = statistics.median(ratios)
    return [
        Figure("session, c=1: time per request", statistics.median(bare_ms), statistics.median(aigw_ms), add, "ms",
               f"<= +{TARGET_ADDED_MS} ms", add <= TARGET_ADDED_MS,
               f"client CPU added {statistics.median(cpu_added):+.3f} ms"),
        Figure("session, c=32: throughput", statistics.median(bare_rps), statistics.median(aigw_rps), ratio, "req/s",
               f">= {TARGET_SESSION_RATIO}x", ratio >= TARGET_SESSION_RATIO,
               f"client CPU per request ratio {statistics.median(cpu_ratios):.2f}x"),
    ]


# ---- processes: --batch and one-shot ------------------------------------------------------------


def aigw_command() -> list[str]:
    """The installed `aigw` script beside this interpreter (what a user runs), else `python -m aigw`."""
    script = Path(sys.executable).with_name("aigw")
    return [str(script)] if script.exists() else [sys.executable, "-m", "aigw"]


def has_batch() -> bool:
    out = subprocess.run([*aigw_command(), "generate", "--help"], capture_output=True, text=True,
                         env={**os.environ, "COLUMNS": "200"})
    return "--batch" in out.stdout


def _timed(cmd: list[str], check: Callable[[subprocess.CompletedProcess[str]], None]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children): the CPU time hardly moves when
    other programs compete for the cores, the wall time does."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=_process_env())
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}... exited {done.returncode}: {done.stderr.strip()[-500:]}")
    check(done)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _process_env() -> dict[str, str]:
    """This environment without PYTHONDONTWRITEBYTECODE: with it, an editable install recompiles
    every aigw module from source at each start (about 70 ms), which no regular install does (pip
    writes the .pyc files when it installs). The untimed first run of each command writes them."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _alternate(names: tuple[str, str], round_index: int) -> tuple[str, str]:
    """bare, aigw in even rounds and aigw, bare in odd ones: neither always goes first."""
    return names if round_index % 2 == 0 else (names[1], names[0])


def process_pairs(label: str, bare: list[str], aigw: list[str], rounds: int, *, throughput_of: int | None,
                  check_bare: Callable[[subprocess.CompletedProcess[str]], None],
                  check_aigw: Callable[[subprocess.CompletedProcess[str]], None],
                  target: str, meets: Callable[[float], bool]) -> Figure:
    """Alternating rounds of two commands after one untimed run of each; the median per-round ratio
    (aigw / bare wall time, or bare / aigw wall time when `throughput_of` items were done)."""
    _timed(bare, check_bare)
    _timed(aigw, check_aigw)
    walls: dict[str, list[float]] = {"bare": [], "aigw": []}
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    for r in range(rounds):
        pair, cpu = {}, {}
        for name in _alternate(("bare", "aigw"), r):
            pair[name], cpu[name] = _timed(bare if name == "bare" else aigw,
                                           check_bare if name == "bare" else check_aigw)
            walls[name].append(pair[name])
        ratios.append(pair["bare"] / pair["aigw"] if throughput_of else pair["aigw"] / pair["bare"])
        cpu_ratios.append(cpu["bare"] / cpu["aigw"] if throughput_of else cpu["aigw"] / cpu["bare"])
        print(f"   {label} round {r + 1}: bare {pair['bare'] * 1000:.0f} ms, aigw {pair['aigw'] * 1000:.0f} ms,"
              f" {ratios[-1]:.2f}x (CPU time {cpu['bare'] * 1000:.0f} / {cpu['aigw'] * 1000:.0f} ms,"
              f" {cpu_ratios[-1]:.2f}x)", flush=True)
    ratio = statistics.median(ratios)
    bare_s, aigw_s = statistics.median(walls["bare"]), statistics.median(walls["aigw"])
    note = f"CPU-time ratio {statistics.median(cpu_ratios):.2f}x"
    if throughput_of:
        return Figure(label, throughput_of / bare_s, throughput_of / aigw_s, ratio, "req/s", target, meets(ratio), note)
    return Figure(label, bare_s, aigw_s, ratio, "s", target, meets(ratio), note)


def batch_figure(fake: FastFake, home: Path, rounds: int, items: int) -> Figure | None:
    if not has_batch():
        print("   batch: this aigw has no --batch yet; the figure is left out", flush=True)
        return None
    prompts = home / "prompts.txt"
    prompts.write_text("".join(f"{PROMPT} #{i}\n" for i in range(items)))
    script = home / "bare_batch.py"
    script.write_text(BARE_BATCH)
    bare = [sys.executable, str(script), fake.url(), MODEL, str(prompts), str(BATCH_CONCURRENCY)]
    aigw = [*aigw_command(), "generate", "--batch", str(prompts), "-m", MODEL, "--concurrency", str(BATCH_CONCURRENCY),
            "--new"]  # every round a new batch, not a resume of the last

    def check_aigw(done: subprocess.CompletedProcess[str]) -> None:
        paths = done.stdout.split()
        if len(paths) != items or not all(Path(p).exists() for p in paths[:3]):
            raise RuntimeError(f"aigw --batch printed {len(paths)} paths for {items} items")

    return process_pairs(f"batch of {items}, c={BATCH_CONCURRENCY}: throughput", bare, aigw, rounds,
                         throughput_of=items, check_bare=lambda done: None, check_aigw=check_aigw,
                         target=f">= {TARGET_BATCH_RATIO}x", meets=lambda r: r >= TARGET_BATCH_RATIO)


def oneshot_figure(fake: FastFake, home: Path, rounds: int) -> Figure:
    script = home / "bare_oneshot.py"
    script.write_text(BARE_ONESHOT)
    bare = [sys.executable, str(script), fake.url(), MODEL, PROMPT, str(home / "bare.png")]
    aigw = [*aigw_command(), "generate", PROMPT, "-m", MODEL]

    def check_aigw(done: subprocess.CompletedProcess[str]) -> None:
        if not Path(done.stdout.strip()).is_file():
            raise RuntimeError(f"aigw generate printed {done.stdout!r}, not a file")

    return process_pairs("one-shot `aigw generate`: wall time", bare, aigw, rounds, throughput_of=None,
                         check_bare=lambda done: None, check_aigw=check_aigw,
                         target=f"<= {TARGET_ONESHOT_RATIO}x", meets=lambda r: r <= TARGET_ONESHOT_RATIO)


# ---- main ---------------------------------------------------------------------------------------


@contextmanager
def workspace(fake: FastFake, workdir: str | None) -> Iterator[Path]:
    with aigw_workspace({"primary": fake.url()}, workdir=workdir) as home:
        scratch = Path(tempfile.mkdtemp(dir=home))
        try:
            yield scratch
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=["session", "batch", "oneshot"],
                        help="measure only this figure (repeatable); default all")
    parser.add_argument("--rounds", type=int, help="alternating rounds per figure (default 7; 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds and requests")
    parser.add_argument("--batch-items", type=int, default=BATCH_ITEMS)
    parser.add_argument("--workdir", help="where the temp config and cache go (default: the system temp dir)")
    args = parser.parse_args(argv)
    only = set(args.only or ["session", "batch", "oneshot"])
    rounds = args.rounds or (3 if args.quick else 7)
    c1, c32 = (300, 600) if args.quick else (1000, 2000)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg")
          else f"machine: {machine()}")
    print(f"aigw: {' '.join(aigw_command())}; {rounds} alternating rounds per figure, medians reported", flush=True)
    figures: list[Figure] = []
    # Each figure gets a new cache: what one leaves (thousands of results in today's folder, which
    # every aigw process lists at start to finish what a killed one left) would weigh on the next.
    with FastFake(modes=("ok",)) as fake:
        if "session" in only:
            print(f"\n-- session: {c1} requests at c=1 and {c32} at c=32 per round --", flush=True)
            with workspace(fake, args.workdir):
                figures += asyncio.run(session_figures(fake, rounds, c1, c32))
        if "batch" in only:
            print(f"\n-- batch: {args.batch_items} prompts, --concurrency {BATCH_CONCURRENCY}, as processes --",
                  flush=True)
            with workspace(fake, args.workdir) as home:
                figure = batch_figure(fake, home, rounds, args.batch_items)
            figures += [figure] if figure else []
        if "oneshot" in only:
            print("\n-- one-shot: `aigw generate` as a process --", flush=True)
            with workspace(fake, args.workdir) as home:
                figures.append(oneshot_figure(fake, home, max(rounds, 9)))
    print(f"\n== issue 10 item 5: aigw beside the bare client (median of {rounds}+ alternating rounds) ==")
    for figure in figures:
        print(figure.line())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
