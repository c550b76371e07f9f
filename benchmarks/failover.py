"""The cost of one failover over a direct success, and proof that no backoff sleep comes before it.

    python benchmarks/failover.py                 # 300 runs per scenario
    python benchmarks/failover.py --runs 1000 --litellm    # LiteLLM's Router too, if installed

Scenarios, against the fast loopback fake (benchmarks/fastfake.py, its own process):

  direct    primary healthy: one attempt
  refused   primary's port is closed (connection refused at once); secondary healthy
  http500   primary answers 500 (OpenAI's server_error body); secondary healthy

aigw runs `engine.run()` in-process on one engine per scenario (one httpx client and one run log, as
in overhead.py), so the figures are the provider layer's, not per-invocation setup. Before each run the
primary's circuit-breaker row is deleted (outside the timing), so every run sees a closed circuit
and pays one failure, as a fresh invocation would. Scenarios are interleaved run by run.

Printed: median wall and CPU time per run; the failover's cost (median over direct); the bare
failed round trip (a plain httpx POST to the closed port / to the 500 listener); aigw's own time
in the failover (cost minus that round trip); idle time (wall minus CPU: time spent waiting, on
the wire or asleep); every attempt's waited_s; any asyncio/anyio sleep > 0; and, for 500, how many requests the primary received (1 per run means no retry before
switching). Target (issue 5 item 8): one extra round trip and < 1 ms of aigw's own time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    aigw_workspace,
    image_request,
    machine,
    make_engine,
    wire_body,
)
from benchmarks.fastfake import FastFake  # noqa: E402

TARGET_OWN_MS = 1.0
SCENARIOS = ("direct", "refused", "http500")


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class SleepWatch:
    """Wraps asyncio.sleep to record every sleep longer than zero (anyio/httpx use sleep(0))."""

    def __init__(self) -> None:
        self.slept: list[float] = []
        self._orig = asyncio.sleep

    def __enter__(self) -> SleepWatch:
        orig, slept = self._orig, self.slept

        async def watched(delay: float, result: Any = None) -> Any:
            if delay > 0:
                slept.append(delay)
            return await orig(delay, result)

        asyncio.sleep = watched  # type: ignore[assignment]
        self._anyio = sys.modules.get("anyio._backends._asyncio")
        if self._anyio is not None and getattr(self._anyio, "sleep", None) is orig:
            self._anyio.sleep = watched  # the OpenAI SDK's retry backoff sleeps through anyio
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.sleep = self._orig  # type: ignore[assignment]
        if self._anyio is not None and getattr(self._anyio, "sleep", None) is not self._orig:
            self._anyio.sleep = self._orig


class Samples:
    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = defaultdict(list)
        self.cpu: dict[str, list[float]] = defaultdict(list)

    async def time(self, key: str, call: Callable[[], Awaitable[Any]]) -> Any:
        c0, t0 = time.process_time(), time.perf_counter()
        out = await call()
        self.wall[key].append(time.perf_counter() - t0)
        self.cpu[key].append(time.process_time() - c0)
        return out

    def med(self, key: str, cpu: bool = False) -> float:
        return statistics.median((self.cpu if cpu else self.wall)[key]) * 1000


async def bare_baselines(fake: FastFake, refused_url: str, runs: int, s: Samples) -> None:
    """What one attempt costs on the wire, with no gateway: the extra round trip a failover adds."""
    import httpx

    body = {"model": "gpt-image-2", "prompt": image_request().prompt, "n": 1}
    async with httpx.AsyncClient(timeout=httpx.Timeout(300.0, connect=10.0)) as client:
        async def ok() -> None:
            r = await client.post(fake.url("ok") + "/images/generations", json=body)
            assert r.status_code == 200 and r.json()["data"]

        async def refused() -> None:
            try:
                await client.post(refused_url + "/images/generations", json=body)
            except httpx.ConnectError:
                return
            raise AssertionError("the closed port answered")

        async def http500() -> None:
            r = await client.post(fake.url("500") + "/images/generations", json=body)
            assert r.status_code == 500
            r.json()

        calls = {"direct": ok, "refused": refused, "http500": http500}
        for _ in range(20):
            for fn in calls.values():
                await fn()
        for _ in range(runs):
            for name, fn in calls.items():
                await s.time("bare-" + name, fn)


async def run_aigw(fake: FastFake, refused_url: str, runs: int, workdir: str | None, s: Samples) -> dict[str, Any]:
    from aigw.clock import SystemClock
    from aigw.engine import RunOptions

    class RecordingClock(SystemClock):
        slept: list[float] = []

        async def sleep(self, seconds: float) -> None:
            RecordingClock.slept.append(seconds)
            await super().sleep(seconds)

    primaries = {"direct": fake.url("ok"), "refused": refused_url, "http500": fake.url("500")}
    report: dict[str, Any] = {"attempts": {}, "waited": Counter(), "clock_sleeps": RecordingClock.slept}
    with contextlib.ExitStack() as stack:
        engines = {}
        for name, primary in primaries.items():
            stack.enter_context(aigw_workspace({"primary": primary, "secondary": fake.url("ok")}, workdir=workdir))
            engines[name] = await make_engine(clock=RecordingClock()).__aenter__()  # one client and log per scenario
        assert wire_body(engines["direct"])["model"] == "gpt-image-2"
        req, options = image_request(), RunOptions()
        try:
            def reset(name: str) -> None:
                engines[name].log.conn.execute("DELETE FROM circuits")

            async def once(name: str, key: str | None) -> Any:
                reset(name)
                async def call() -> Any:
                    return (await engines[name].run(req, options)).result

                return await (s.time(key, call) if key else call())

            for _ in range(20):
                for name in SCENARIOS:
                    await once(name, None)
            before = fake.count("500")
            with SleepWatch() as watch:
                for _ in range(runs):
                    for name in SCENARIOS:
                        result = await once(name, "aigw-" + name)
                        shape = tuple((a.provider, a.failure_class) for a in result.attempts)
                        report["attempts"].setdefault(name, Counter())[shape] += 1
                        for a in result.attempts:
                            report["waited"][(name, a.provider, a.waited_s)] += 1
            report["primary_500_requests"] = fake.count("500") - before
            report["loop_sleeps"] = list(watch.slept)
            report["sample_error"] = {name: next((a.error for a in result.attempts if a.error), None)
                                      for name in SCENARIOS
                                      for result in [await once(name, None)]}
        finally:
            for engine in engines.values():
                await engine.aclose()
    return report


async def run_litellm(fake: FastFake, refused_url: str, runs: int, s: Samples, *, sdk_retries: bool) -> dict[str, Any]:
    from benchmarks import _litellm

    prefix = "litellm-" if sdk_retries else "litellm-noretry-"
    primaries = {"direct": fake.url("ok"), "refused": refused_url, "http500": fake.url("500")}
    routers = {name: _litellm.failover_router(url, fake.url("ok")) for name, url in primaries.items()}
    with contextlib.ExitStack() as stack:
        if not sdk_retries:
            stack.enter_context(_litellm.no_sdk_retries())
        for _ in range(3 if sdk_retries else 20):
            for name in SCENARIOS:
                await _litellm.image(routers[name], "primary")
        before = fake.count("500")
        fallbacks: Counter[tuple[str, Any]] = Counter()
        with SleepWatch() as watch:
            for _ in range(runs):
                for name in SCENARIOS:
                    resp = await s.time(prefix + name, lambda: _litellm.image(routers[name], "primary"))
                    headers = getattr(resp, "_hidden_params", {}).get("additional_headers", {}) or {}
                    fallbacks[name, headers.get("x-litellm-attempted-fallbacks")] += 1
    return {"primary_500_requests": fake.count("500") - before, "loop_sleeps": list(watch.slept),
            "fallbacks": fallbacks, "prefix": prefix}


def report_block(title: str, prefix: str, s: Samples, runs: int) -> None:
    print(f"\n== {title}: median of {runs} runs per scenario ==")
    print(f"  {'scenario':<10} {'wall ms':>9} {'CPU ms':>9} {'idle ms':>8} {'failover cost (wall / CPU)':>30}"
          f" {'own time (wall / CPU)':>26}")
    d_wall, d_cpu = s.med(prefix + "direct"), s.med(prefix + "direct", cpu=True)
    for name in SCENARIOS:
        wall, cpu = s.med(prefix + name), s.med(prefix + name, cpu=True)
        idle = statistics.median(w - c for w, c in zip(s.wall[prefix + name], s.cpu[prefix + name])) * 1000
        line = f"  {name:<10} {wall:9.3f} {cpu:9.3f} {idle:8.3f}"
        if name != "direct":
            cost_w, cost_c = wall - d_wall, cpu - d_cpu
            trip_w, trip_c = s.med("bare-" + name), s.med("bare-" + name, cpu=True)
            own_w, own_c = cost_w - trip_w, cost_c - trip_c
            verdict = "met" if max(own_w, own_c) < TARGET_OWN_MS else "MISSED"
            line += f" {cost_w:+14.3f} / {cost_c:+.3f} ms {own_w:+13.3f} / {own_c:+.3f} ms  [< {TARGET_OWN_MS:g} ms: {verdict}]"
        print(line)


async def amain(args: argparse.Namespace) -> int:
    from benchmarks import _litellm

    litellm_version = _litellm.available() if args.litellm else None
    if args.litellm and litellm_version is None:
        print("LiteLLM is not installed (pip install litellm); leaving it out", file=sys.stderr)
    refused_url = closed_port_url()
    s = Samples()
    with FastFake(modes=("ok", "500")) as fake:
        await bare_baselines(fake, refused_url, args.runs, s)
        aigw = await run_aigw(fake, refused_url, args.runs, args.workdir, s)
        lite_default = lite_noretry = None
        if litellm_version:
            lite_noretry = await run_litellm(fake, refused_url, args.runs, s, sdk_retries=False)
            lite_default = await run_litellm(fake, refused_url, args.litellm_default_runs, s, sdk_retries=True)

    print("\n== one failed attempt on the wire, bare httpx (the extra round trip a failover adds) ==")
    for name, label in (("direct", "POST -> 200 + JSON"), ("refused", "POST -> connection refused"),
                        ("http500", "POST -> 500 + JSON")):
        print(f"  {label:<28} wall {s.med('bare-' + name):7.3f} ms   CPU {s.med('bare-' + name, cpu=True):7.3f} ms")

    report_block("aigw engine.run() (one engine: one client and run log)", "aigw-", s, args.runs)
    print("\n  attempts seen:")
    for name, shapes in aigw["attempts"].items():
        for shape, n in shapes.items():
            hops = " -> ".join(f"{p}:{c or 'served'}" for p, c in shape)
            print(f"    {name:<8} {n:5d} x {hops}")
    print("  waited_s per attempt: " + ", ".join(f"{name}/{prov}={w:g} ({n}x)"
                                                for (name, prov, w), n in sorted(aigw["waited"].items())))
    print(f"  router sleeps (clock.sleep calls): {len(aigw['clock_sleeps'])}"
          f"{'' if not aigw['clock_sleeps'] else ' ' + str(sorted(set(aigw['clock_sleeps']))[:5])}")
    print(f"  event-loop sleeps > 0 during the runs: {len(aigw['loop_sleeps'])}")
    print(f"  requests the 500 primary received: {aigw['primary_500_requests']} for {args.runs} runs "
          f"({'no retry before switching' if aigw['primary_500_requests'] == args.runs else 'RETRIED'})")
    print(f"  errors recorded: refused: {aigw['sample_error']['refused']!r}; http500: {aigw['sample_error']['http500']!r}")

    for lite, label in ((lite_default, "as configured: litellm_params max_retries=0, num_retries=0"),
                        (lite_noretry, "OpenAI SDK retries forced to 0 (patched; see _litellm.no_sdk_retries)")):
        if lite is None:
            continue
        runs = args.litellm_default_runs if lite["prefix"] == "litellm-" else args.runs
        report_block(f"LiteLLM {litellm_version} Router, fallbacks primary -> secondary, {label}", lite["prefix"], s, runs)
        print(f"  sleeps > 0 (asyncio/anyio) during the runs: {len(lite['loop_sleeps'])}"
              f"{'' if not lite['loop_sleeps'] else ', e.g. ' + ', '.join(f'{x:.3f} s' for x in lite['loop_sleeps'][:4])}")
        print(f"  requests the 500 primary received: {lite['primary_500_requests']} for {runs} runs")
        print("  x-litellm-attempted-fallbacks: " + ", ".join(f"{name}={value} ({n}x)"
                                                           for (name, value), n in sorted(lite["fallbacks"].items(), key=str)))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300, help="measured runs per scenario (default 300)")
    parser.add_argument("--litellm", action="store_true", help="also measure LiteLLM's Router fallbacks")
    parser.add_argument("--litellm-default-runs", type=int, default=10,
                        help="runs for LiteLLM as configured, whose SDK retries sleep ~1 s per failover (default 10)")
    parser.add_argument("--workdir", help="where the temp config and cache go (default: the system temp dir)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    return asyncio.run(amain(args))


if __name__ == "__main__":
    raise SystemExit(main())
