"""Per-request overhead of aigw's provider layer (router + provider + store) over a bare httpx client.

    python benchmarks/overhead.py                       # 2,000 requests at concurrency 1 and 32
    python benchmarks/overhead.py --requests 500 --concurrency 1 --concurrency 8
    python benchmarks/overhead.py --litellm             # also LiteLLM's Router (if installed)
    python benchmarks/overhead.py --profile             # cProfile of aigw's reuse variant at c=1
    python benchmarks/overhead.py --breakdown           # each piece of engine.run() timed alone

A fake OpenAI server (benchmarks/fastfake.py: raw asyncio, zero added latency, a 64x64 PNG as
b64_json) runs in its own process, so client and server never share a GIL (--pin puts this process
on CPU 0 and the fake on CPU 1). Then, for each concurrency, after 100 unmeasured warm-up requests
each:

  bare-httpx      one shared httpx.AsyncClient: POST the exact JSON aigw sends, read the JSON answer
  aigw-reuse      `await engine.run(ImageRequest, RunOptions())` on one engine opened once (one run
                  log, one httpx client for every run): planning, the failover policy, the provider,
                  decoding, the result file and the run-log writes
  aigw-generate   as one CLI invocation does it: every call opens its own engine (aigw.db opened
                  and migrations checked, a new httpx.AsyncClient, so a new TCP connection)
  litellm-router  (--litellm) litellm.Router with two deployments on the fake, aimage_generation()

Each row gives throughput, mean/p50/p99 latency, and this process's CPU time per request (all
threads). On a small shared VM the wall-clock means carry scheduler noise; the p50 and the CPU
figures are the steadier measures of what aigw itself adds.

Targets (issue 5 item 8): aigw adds <= 0.3 ms per request at c=1 and keeps >= 0.9x bare
throughput at c=32.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    Stats,
    aigw_workspace,
    image_request,
    machine,
    make_engine,
    median_stats,
    pin,
    row,
    run_load,
    wire_body,
)
from benchmarks.fastfake import FastFake  # noqa: E402

TARGET_ADDED_MS = 0.3
TARGET_RATIO = 0.9
VARIANTS = ("bare-httpx", "aigw-reuse", "aigw-generate", "litellm-router")


class Bench:
    """Builds each variant's one-request coroutine function against the fake at `url`."""

    def __init__(self, url: str, second_url: str) -> None:
        import httpx

        from aigw.engine import RunOptions

        self.url, self.second_url = url, second_url
        self.options = RunOptions()
        self.request = image_request()
        self.engine = make_engine()  # aigw-reuse: every run on this one engine
        self.body = wire_body(self.engine)
        self.images_url = url + "/images/generations"
        self.client = httpx.AsyncClient(timeout=httpx.Timeout(300.0, connect=10.0), follow_redirects=False)
        self.litellm_router: Any = None

    async def open(self, litellm: bool) -> None:
        await self.engine.__aenter__()
        if litellm:
            from benchmarks import _litellm

            self.litellm_router = _litellm.load_router([self.url, self.second_url])

    async def close(self) -> None:
        await self.client.aclose()
        await self.engine.aclose()

    async def bare(self) -> None:
        resp = await self.client.post(self.images_url, json=self.body)
        if resp.status_code != 200 or not resp.json()["data"]:
            raise RuntimeError(f"bare: HTTP {resp.status_code}")

    async def aigw_reuse(self) -> None:
        result = (await self.engine.run(self.request, self.options)).result
        if result.provider != "primary":
            raise RuntimeError(f"aigw-reuse served by {result.provider}")

    async def aigw_generate(self) -> None:
        from aigw.engine import open_engine

        async with open_engine(self.engine.loaded, self.engine.catalog, self.engine.cache_dir) as engine:
            result = (await engine.run(self.request, self.options)).result
        if result.provider != "primary":
            raise RuntimeError(f"aigw-generate served by {result.provider}")

    async def litellm(self) -> None:
        from benchmarks import _litellm

        await _litellm.image(self.litellm_router)

    def call(self, variant: str) -> Any:
        return {"bare-httpx": self.bare, "aigw-reuse": self.aigw_reuse, "aigw-generate": self.aigw_generate,
                "litellm-router": self.litellm}[variant]


async def measure(bench: Bench, variants: list[str], concurrencies: list[int], requests: int,
                  rounds: int, warmup: int) -> dict[tuple[str, int], Stats]:
    results: dict[tuple[str, int], Stats] = {}
    for c in concurrencies:
        print(f"\n-- concurrency {c}: {requests} requests per variant, median of {rounds} round(s) --", flush=True)
        per: dict[str, list[Stats]] = defaultdict(list)
        for r in range(rounds):
            for variant in variants:  # interleaved, so drift hits every variant alike
                s = await run_load(variant, bench.call(variant), requests=requests, concurrency=c, warmup=warmup)
                per[variant].append(s)
                if rounds > 1:
                    print(f"   round {r + 1}: {row(s)}", flush=True)
        for variant in variants:
            results[variant, c] = median_stats(per[variant])
            print(row(results[variant, c]), flush=True)
    return results


def summary(results: dict[tuple[str, int], Stats], variants: list[str], concurrencies: list[int]) -> None:
    print("\n== summary ==")
    lo, hi = min(concurrencies), max(concurrencies)
    base_lo, base_hi = results.get(("bare-httpx", lo)), results.get(("bare-httpx", hi))
    for variant in variants:
        if variant == "bare-httpx":
            continue
        parts = [f"{variant:<15}"]
        if base_lo is not None:
            added = results[variant, lo].mean_ms - base_lo.mean_ms
            p50 = results[variant, lo].p50_ms - base_lo.p50_ms
            cpu = (results[variant, lo].cpu_us - base_lo.cpu_us) / 1000
            verdict = "met" if max(added, p50) <= TARGET_ADDED_MS else ("MISSED" if min(added, p50) > TARGET_ADDED_MS
                                                                        else "borderline")
            parts.append(f"added at c={lo}: mean {added:+.3f} ms, p50 {p50:+.3f} ms, client CPU {cpu:+.3f} ms"
                         f" [target <= {TARGET_ADDED_MS} ms: {verdict}]")
        if base_hi is not None and hi != lo:
            ratio = results[variant, hi].rps / base_hi.rps
            verdict = "met" if ratio >= TARGET_RATIO else "MISSED"
            parts.append(f"throughput {ratio:.2f}x bare at c={hi} [target >= {TARGET_RATIO}x: {verdict}]")
        print(("\n" + " " * 18).join(parts))


# ---- profile ------------------------------------------------------------------------------------


def _package(filename: str, func: str) -> str:
    if filename == "~":
        if "sqlite3" in func:
            return "sqlite3 (C)"
        if any(w in func for w in ("posix.", "io.open", "_io.", "built-in method io")):
            return "file I/O (C)"
        return "other builtins (C)"
    path = filename.replace("\\", "/")
    for marker in ("/aigw/", "/httpx/", "/httpcore/", "/h11/", "/anyio/", "/asyncio/", "/pydantic/",
                   "/pydantic_core/", "/json/", "/sqlite3/", "/pathlib", "/contextlib", "/hashlib", "/ssl",
                   "/email/", "/datetime", "/random", "/dataclasses", "/typing", "/enum", "/base64"):
        if marker in path:
            return marker.strip("/")
    if "/benchmarks/" in path:
        return "benchmark harness"
    return "other Python"


async def profile(bench: Bench, variant: str, requests: int, top: int) -> None:
    call = bench.call(variant)
    for _ in range(100):
        await call()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    prof.enable()
    for _ in range(requests):
        await call()
    prof.disable()
    wall = time.perf_counter() - t0
    stats = pstats.Stats(prof)
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    print(f"\n== cProfile: {variant}, c=1, {requests} requests, {wall / requests * 1000:.3f} ms/request under "
          f"the profiler (profiling inflates every call; compare the shares, not the absolute times) ==")
    groups: dict[str, float] = defaultdict(float)
    for (filename, _line, func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        groups[_package(filename, func)] += tt
    print("\nown time (tottime) by package, per request:")
    for name, tt in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<22} {tt / requests * 1e6:9.1f} us   {tt / total * 100:5.1f} %")
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(r"aigw[/\\]", top)
    print(f"\ntop {top} aigw functions by cumulative time ({requests} calls of engine.run):")
    print(_trim(out.getvalue()))
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    print(f"\ntop {top} functions by own time, all packages:")
    print(_trim(out.getvalue()))


async def breakdown(bench: Bench, n: int) -> None:
    """Where a run's time goes, measured in place: the main pieces are wrapped with timers
    (about 1 us each, no profiler), n requests run at c=1, and the remainder is the glue between them."""
    from aigw.providers import local
    from aigw.providers.openai import OpenAIProvider
    from aigw.engine import core as core_mod
    from aigw.engine import keeper as keeper_mod
    from aigw.store.db import RunLog
    from aigw.store.state import SQLiteRoutingState

    spent: dict[str, float] = defaultdict(float)
    undo: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, label: str) -> None:
        orig = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
        if asyncio.iscoroutinefunction(orig):
            async def timed(*a: Any, **k: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return await orig(*a, **k)
                finally:
                    spent[label] += time.perf_counter() - t0
        else:
            def timed(*a: Any, **k: Any) -> Any:  # type: ignore[misc]
                t0 = time.perf_counter()
                try:
                    return orig(*a, **k)
                finally:
                    spent[label] += time.perf_counter() - t0
        undo.append((owner, name, orig))
        setattr(owner, name, timed)

    for _ in range(100):
        await bench.aigw_reuse()
        await bench.bare()
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        await bench.bare()
    bare_us = (time.perf_counter() - t0) / n * 1e6
    bare_cpu = (time.process_time() - c0) / n * 1e6

    client = bench.engine.client
    pieces = [
        (core_mod, "plan_groups", "plan_groups: candidates, parameters, estimates"),
        (local, "installed", "  of which providers/local.py installed() (find_spec)"),
        (core_mod, "enforce_costs", "enforce_costs"),
        (RunLog, "start_run", "run log: start_run INSERT"),
        (SQLiteRoutingState, "circuit", "gate: circuit SELECTs (check + success)"),
        (client, "post", "HTTP: client.post (same as the bare client's)"),
        (OpenAIProvider, "generate", "provider.generate incl. HTTP"),
        (keeper_mod, "write_part", "result file: write_part (mkdir, open, write, sha256)"),
        (RunLog, "record_file", "run log: record_file INSERT"),
        (RunLog, "add_attempt", "run log: add_attempt INSERT"),
        (RunLog, "finish_run", "run log: finish_run UPDATE (+ model_dump_json)"),
    ]
    for owner, name, label in pieces:
        wrap(owner, name, label)
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(n):
            await bench.aigw_reuse()
        whole_us = (time.perf_counter() - t0) / n * 1e6
        whole_cpu = (time.process_time() - c0) / n * 1e6
    finally:
        for owner, name, orig in reversed(undo):
            if owner is client:
                delattr(owner, name)
            else:
                setattr(owner, name, orig)
    us = {label: spent[label] / n * 1e6 for _, _, label in pieces}
    http = us["HTTP: client.post (same as the bare client's)"]
    us["provider: body, headers, JSON parse, b64 decode (excl. HTTP)"] = us.pop("provider.generate incl. HTTP") - http
    accounted = sum(v for k, v in us.items() if not k.startswith("  "))
    print(f"\n== breakdown of engine.run() (one engine), c=1, mean of {n} requests, timers in place ==")
    print(f"  {'':<66} {'wall':>8}    {'CPU':>8}")
    print(f"  {'whole engine.run() (with the timers)':<66} {whole_us:8.1f} us {whole_cpu:8.1f} us")
    print(f"  {'bare client: POST + resp.json()':<66} {bare_us:8.1f} us {bare_cpu:8.1f} us")
    print(f"  {'added by aigw':<66} {whole_us - bare_us:8.1f} us {whole_cpu - bare_cpu:8.1f} us")
    print()
    for label, v in sorted(us.items(), key=lambda kv: (kv[0].startswith("  "), -kv[1])):
        print(f"  {label:<66} {v:8.1f} us")
    print(f"  {'rest: failover policy, engine glue, pydantic, event loop':<66} {whole_us - accounted:8.1f} us")


def _trim(text: str) -> str:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
    return "\n".join(line.replace(str(Path(sys.prefix)), "<venv>").replace(str(Path(__file__).resolve().parent.parent), ".")
                     for line in lines[start:] if line.strip())


async def amain(args: argparse.Namespace) -> int:
    from benchmarks import _litellm

    variants = [v for v in (args.variant or ["bare-httpx", "aigw-reuse", "aigw-generate"])]
    if args.litellm and "litellm-router" not in variants:
        variants.append("litellm-router")
    if "litellm-router" in variants:
        version = _litellm.available()
        if version is None:
            print("LiteLLM is not installed (pip install litellm); leaving it out", file=sys.stderr)
            variants.remove("litellm-router")
        else:
            print(f"LiteLLM {version}")
    with FastFake(modes=("ok",), server=args.server, image_px=args.image_px) as fake, \
            FastFake(modes=("ok",), server=args.server, image_px=args.image_px) as fake2:
        # fake2 only serves LiteLLM's second deployment; aigw and the bare client use `fake`.
        with aigw_workspace({"primary": fake.url(), "secondary": fake2.url()}, workdir=args.workdir):
            bench = Bench(fake.url(), fake2.url())
            await bench.open("litellm-router" in variants)
            try:
                if args.profile:
                    await profile(bench, args.profile, args.requests, args.top)
                    return 0
                if args.breakdown:
                    await breakdown(bench, args.requests)
                    return 0
                results = await measure(bench, variants, args.concurrency, args.requests, args.rounds, args.warmup)
                summary(results, variants, args.concurrency)
            finally:
                await bench.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per variant and concurrency")
    parser.add_argument("--concurrency", type=int, action="append", help="repeatable; default 1 and 32")
    parser.add_argument("--rounds", type=int, default=1, help="repeat and report the median-throughput round")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--variant", action="append", choices=VARIANTS, help="repeatable; default all but LiteLLM")
    parser.add_argument("--litellm", action="store_true", help="also measure litellm.Router")
    parser.add_argument("--server", choices=["asyncio", "uvicorn"], default="asyncio", help="the fake's server")
    parser.add_argument("--image-px", type=int, default=64)
    parser.add_argument("--workdir", help="where the temp config and cache go (default: the system temp dir; "
                        "/dev/shm keeps the disk out of the figures)")
    parser.add_argument("--pin", action="store_true", help="pin this process to CPU 0 and the fake to CPU 1")
    parser.add_argument("--profile", nargs="?", const="aigw-reuse", choices=VARIANTS,
                        help="instead of measuring, cProfile one variant at c=1 (default aigw-reuse)")
    parser.add_argument("--breakdown", action="store_true",
                        help="instead of measuring, time each piece of generate()'s own work alone (c=1)")
    parser.add_argument("--top", type=int, default=30, help="rows in each profile table")
    args = parser.parse_args()
    args.concurrency = args.concurrency or [1, 32]
    pinned = False
    if args.pin:
        import os

        os.environ["FASTFAKE_CPU"] = "1"
        pinned = pin(0)
    print(f"machine: {machine()}; client {'pinned to CPU 0, fake server to CPU 1' if pinned else 'not pinned'}")
    return asyncio.run(amain(args))


if __name__ == "__main__":
    raise SystemExit(main())
