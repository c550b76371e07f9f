"""What one item of a batch came to: a served run (its record, where its results are) or a failure
(exit code, error, hint, the attempts made). The CLI renders it; the runner counts it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ItemOutcome:
    line: int
    item_id: str | None
    exit_code: int
    result: Any = None  # aigw.types.RunResult when the provider served
    paths: list[str] = field(default_factory=list)  # where the results are: -o targets, else the cache
    body: str | None = None  # a transcript in the format asked for
    error: str | None = None
    hint: str | None = None
    run_id: str | None = None
    attempts: tuple[Any, ...] = ()

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def cost_usd(self) -> float:
        """Money this item spent as far as is known: the served attempt's cost (else its estimate),
        as the budgets count it."""
        if self.result is None:
            return 0.0
        served = [a for a in self.result.attempts if a.served]
        if not served:
            return 0.0
        cost = served[-1].actual_cost_usd
        return float(cost if cost is not None else (served[-1].estimated_cost_usd or 0.0))
