"""Where a batch stands: done, failed, in flight, cost so far, rate and ETA. A plain model the
runner updates and a renderer reads; it draws nothing itself."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Progress:
    total: int  # items this invocation will try to run
    started_at: float  # monotonic
    done: int = 0
    failed: int = 0
    in_flight: int = 0
    cost_usd: float = 0.0
    waiting: str = ""  # "waiting for a rate-limit slot at openai (rpm 30) until 12:03:04", while it holds
    failed_lines: list[int] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return self.done + self.failed

    def rate(self, now: float) -> float | None:
        """Items finished per minute so far; None before the first one."""
        elapsed = now - self.started_at
        if self.finished == 0 or elapsed <= 0:
            return None
        return self.finished / elapsed * 60.0

    def eta_s(self, now: float) -> float | None:
        rate = self.rate(now)
        if rate is None:
            return None
        return (self.total - self.finished) / rate * 60.0

    def line(self, now: float) -> str:
        """`37/200 done · 2 failed · 8 in flight · $0.15 · 41.2/min · ETA 3m 58s`."""
        from aigw.catalog.pricing import usd_text

        parts = [f"{self.done}/{self.total} done", f"{self.failed} failed", f"{self.in_flight} in flight",
                 usd_text(self.cost_usd) if self.cost_usd else "$0"]
        rate, eta = self.rate(now), self.eta_s(now)
        parts.append("-/min" if rate is None else f"{rate:.1f}/min")
        parts.append("ETA -" if eta is None else f"ETA {_duration(eta)}")
        if self.waiting:
            parts.append(self.waiting)
        return " · ".join(parts)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"
