"""Benchmark providers for one model: the same request N times at each provider, no failover."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigw import errors
from aigw.services.context import Context, RunOptions


@dataclass
class ProviderFigures:
    provider: str
    model: str
    runs: int = 0
    ok: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    costs: list[float | None] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        known = [c for c in self.costs if c is not None]
        return {
            "provider": self.provider, "model": self.model, "runs": self.runs, "ok": self.ok,
            "success_rate": round(self.ok / self.runs, 3) if self.runs else None,
            "p50_ms": round(statistics.median(lat), 1) if lat else None,
            "p95_ms": round(lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))], 1) if lat else None,
            "cost_usd_total": round(sum(known), 6) if len(known) == len(self.costs) else None,
            "errors": self.errors[:5],
        }


async def bench(ctx: Context, *, kind: str, model: str, prompt: str | None, file: Path | None, runs: int,
                providers: list[str]) -> list[dict[str, Any]]:
    async with ctx.session():  # one run log and one connection pool for every run
        return await _bench(ctx, kind=kind, model=model, prompt=prompt, file=file, runs=runs, providers=providers)


async def _bench(ctx: Context, *, kind: str, model: str, prompt: str | None, file: Path | None, runs: int,
                 providers: list[str]) -> list[dict[str, Any]]:
    # Every run of a provider has the same estimate (the total was shown): say it once, not --runs times.
    notify, said = ctx.notify, set[str]()

    def notify_once(message: str) -> None:
        if message.startswith("estimated cost: "):
            if message in said:
                return
            said.add(message)
        notify(message)

    ctx.notify = notify_once
    try:
        return await _measure(ctx, kind=kind, model=model, prompt=prompt, file=file, runs=runs, providers=providers)
    finally:
        ctx.notify = notify


async def _measure(ctx: Context, *, kind: str, model: str, prompt: str | None, file: Path | None, runs: int,
                   providers: list[str]) -> list[dict[str, Any]]:
    from aigw.services.generate import generate
    from aigw.services.transcribe import transcribe
    from aigw.types import ImageRequest, RunResult, TranscribeRequest

    figures = []
    for name in providers:
        fig = ProviderFigures(name, model)
        for _ in range(runs):
            fig.runs += 1
            opts = RunOptions(providers=(name,), ignore_circuits=True, cache=False)  # measured, never cached
            try:
                if kind == "image":
                    result = await generate(ctx, ImageRequest(prompt=prompt or "", model=model), opts)
                else:
                    outcome = await transcribe(ctx, TranscribeRequest(file=file, model=model), opts)  # type: ignore[arg-type]
                    assert isinstance(outcome, tuple)  # a bench never plans only
                    result = outcome[0]
            except errors.UsageError:
                raise
            except errors.AigwError as exc:
                fig.errors.append(exc.message)
                fig.costs.append(0.0)
                continue
            assert isinstance(result, RunResult)  # a bench never plans only
            fig.ok += 1
            fig.latencies_ms.append(result.latency_ms)
            fig.costs.append(result.cost_usd)
        figures.append(fig.row())
    return figures
