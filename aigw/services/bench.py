"""Benchmark providers for one model: the same request N times at each provider, no failover."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigw import errors
from aigw.engine import Engine, RunOptions


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


async def bench(engine: Engine, *, kind: str, model: str, prompt: str | None, file: Path | None, runs: int,
                providers: list[str]) -> list[dict[str, Any]]:
    """Every run on the one engine (one run log, one connection pool), one provider at a time."""
    from aigw.types import ImageRequest, TranscribeRequest

    figures = []
    for name in providers:
        fig = ProviderFigures(name, model)
        for _ in range(runs):
            fig.runs += 1
            opts = RunOptions(providers=(name,), ignore_circuits=True)
            request: ImageRequest | TranscribeRequest = (
                ImageRequest(prompt=prompt or "", model=model) if kind == "image"
                else TranscribeRequest(file=file, model=model))  # type: ignore[arg-type]
            try:
                result = (await engine.run(request, opts)).result
            except errors.UsageError:
                raise
            except errors.AigwError as exc:
                fig.errors.append(exc.message)
                fig.costs.append(0.0)
                continue
            fig.ok += 1
            fig.latencies_ms.append(result.latency_ms)
            fig.costs.append(result.cost_usd)
        figures.append(fig.row())
    return figures
