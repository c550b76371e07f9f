"""Shared by overhead.py and failover.py: an isolated aigw workspace, load generation, statistics.

Nothing here is imported by aigw or its tests. All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROMPT = "a lighthouse on a cliff at dusk, watercolour"
MODEL = "gpt-image-2"

# Every request in these benchmarks goes to 127.0.0.1: never through a proxy from the environment.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = ",".join(
    filter(None, ["127.0.0.1", "localhost", os.environ.get("NO_PROXY", "")]))

# Variables that would point aigw (or LiteLLM) somewhere other than the temp workspace.
_CLEAR = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_GATEWAY_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID",
          "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "FAL_KEY", "REPLICATE_API_TOKEN", "GROQ_API_KEY",
          "TOGETHER_API_KEY", "STABILITY_API_KEY", "DEEPGRAM_API_KEY", "RUNPOD_API_KEY")


# ---- the machine --------------------------------------------------------------------------------


def machine() -> str:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} CPUs ({cpu or platform.processor() or 'unknown CPU'}), "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def pin(cpu: int) -> bool:
    """Keep this process on one CPU (the fake server gets the other), when the OS allows it."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {cpu})
        return True
    return False


# ---- an isolated aigw ---------------------------------------------------------------------------


@contextlib.contextmanager
def aigw_workspace(providers: dict[str, str], extra_config: str = "", workdir: str | None = None) -> Iterator[Path]:
    """A temp AIGW_CONFIG / AIGW_CACHE_DIR with OpenAI-compatible providers {name: base_url}, in order,
    under `workdir` (default: the system temp dir; /dev/shm takes the disk out of the figures)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("AIGW_") or k in _CLEAR}
    for key in saved:
        del os.environ[key]
    with tempfile.TemporaryDirectory(prefix="aigw-bench-", dir=workdir) as tmp:
        home = Path(tmp)
        config = home / "config" / "config.toml"
        config.parent.mkdir(parents=True)
        lines = [extra_config]
        for name, url in providers.items():
            lines += [f"[providers.{name}]", 'type = "openai"', f'base_url = "{url}"', 'auth = "none"',
                      f'models = ["{MODEL}"]', ""]
        config.write_text("\n".join(lines))
        os.environ["AIGW_CONFIG"] = str(config)
        os.environ["AIGW_CACHE_DIR"] = str(home / "cache")
        try:
            yield home
        finally:
            os.environ.pop("AIGW_CONFIG", None)
            os.environ.pop("AIGW_CACHE_DIR", None)
            os.environ.update(saved)


def make_engine(**overrides: Any) -> Any:
    """Like aigw/cli/common.py::make_engine, without the CLI's terminal renderer. Use it as
    `async with make_engine() as engine:`; every run on it shares one run log and one httpx client."""
    from aigw import catalog, settings
    from aigw.engine import open_engine

    loaded = settings.load()
    cache_dir = loaded.settings.cache_dir or settings.default_cache_dir()
    return open_engine(loaded, catalog.load(), cache_dir, **overrides)


def image_request() -> Any:
    from aigw.types import ImageRequest

    return ImageRequest(prompt=PROMPT, model=MODEL)


def wire_body(engine: Any, provider: str = "primary") -> dict[str, Any]:
    """The exact JSON aigw sends for image_request(), for the bare-client baseline."""
    from aigw.engine import RunOptions

    plan = engine.plan(image_request(), RunOptions())
    item = next(p for p in plan.items if p.candidate.provider == provider)
    return item.provider.image_body(item.call)  # type: ignore[no-any-return]


# ---- load generation and statistics --------------------------------------------------------------


@dataclass
class Stats:
    name: str
    concurrency: int
    requests: int
    wall_s: float
    latencies_s: list[float]
    cpu_s: float = 0.0  # this process's CPU time (all threads) over the measured requests

    @property
    def cpu_us(self) -> float:
        """Client CPU per request: robust to the scheduler noise that wall-clock figures pick up."""
        return self.cpu_s / self.requests * 1e6

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies_s) * 1000

    def pct_ms(self, p: float) -> float:
        xs = sorted(self.latencies_s)
        return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs)) - 1))] * 1000

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_s) * 1000

    @property
    def p99_ms(self) -> float:
        return self.pct_ms(99)


async def run_load(name: str, call: Callable[[], Awaitable[Any]], *, requests: int, concurrency: int,
                   warmup: int = 100) -> Stats:
    """`requests` calls with `concurrency` in flight, after `warmup` unmeasured ones."""

    async def drive(n: int, latencies: list[float]) -> None:
        todo = iter(range(n))

        async def worker() -> None:
            for _ in todo:  # one iterator shared by all workers: the run stops after n calls in total
                t0 = time.perf_counter()
                await call()
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    if warmup:
        await drive(warmup, [])
    latencies: list[float] = []
    c0, t0 = time.process_time(), time.perf_counter()
    await drive(requests, latencies)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return Stats(name, concurrency, requests, wall, latencies, cpu)


def median_stats(rounds: list[Stats]) -> Stats:
    """The round with the median throughput (its latencies go with it)."""
    ordered = sorted(rounds, key=lambda s: s.rps)
    return ordered[(len(ordered) - 1) // 2]


def row(s: Stats) -> str:
    return (f"{s.name:<22} c={s.concurrency:<3} n={s.requests:<6} {s.rps:9.1f} req/s   mean {s.mean_ms:7.3f} ms"
            f"   p50 {s.p50_ms:7.3f} ms   p99 {s.p99_ms:7.3f} ms   client CPU {s.cpu_us:7.1f} us/req")
