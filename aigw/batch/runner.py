"""Runs a batch's items with at most `concurrency` in flight, results handed on as they finish.

Stopping: `stop(reason)` (the first Ctrl-C or SIGTERM, or spend reaching --max-cost) lets the items
in flight finish and starts no more; what was not started stays `pending` for --resume. Cancelling
the task that awaits `run` (a second Ctrl-C) cancels the items in flight as a single run's
Ctrl-C does, queue jobs included. Provider limits (rpm, max_concurrency) are not the runner's: each
run waits at the router's gate, which holds them across processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aigw.batch.outcome import ItemOutcome
from aigw.batch.progress import Progress


@dataclass(frozen=True)
class Work:
    line: int
    item_id: str | None
    fields: dict[str, Any]
    plan: Any = None  # made when the batch was estimated, so each item is planned once


@dataclass
class Report:
    stopped: str | None = None  # "interrupted", "max-cost", or None when every item was started
    not_started: list[int] = field(default_factory=list)  # lines left pending


RunItem = Callable[[Work], Awaitable[ItemOutcome]]


class Runner:
    def __init__(self, *, run_item: RunItem, concurrency: int, progress: Progress,
                 on_done: Callable[[ItemOutcome], None], max_cost: float | None = None,
                 on_change: Callable[[], None] = lambda: None) -> None:
        self.run_item = run_item
        self.concurrency = max(1, concurrency)
        self.progress = progress
        self.on_done = on_done
        self.on_change = on_change
        self.max_cost = max_cost
        self.stopped: str | None = None

    def stop(self, reason: str) -> None:
        """Start no more items; those in flight finish."""
        if self.stopped is None:
            self.stopped = reason

    async def run(self, works: list[Work]) -> Report:
        queue: Iterator[Work] = iter(works)
        left: list[Work] = []

        async def worker() -> None:
            for work in queue:
                if self._spent_enough():
                    self.stop("max-cost")
                if self.stopped is not None:
                    left.append(work)
                    left.extend(queue)  # the other workers find the iterator empty
                    return
                self.progress.in_flight += 1
                self.on_change()
                try:
                    outcome = await self.run_item(work)
                finally:
                    self.progress.in_flight -= 1
                self._count(outcome)
                self.on_done(outcome)
                self.on_change()

        tasks = [asyncio.ensure_future(worker()) for _ in range(min(self.concurrency, len(works)))]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return Report(self.stopped, sorted(w.line for w in left))

    def _spent_enough(self) -> bool:
        # Nothing spent never "reaches" --max-cost 0: what could still start then costs nothing
        # (a cached result, a free model); the up-front check refused everything else.
        spent = self.progress.cost_usd
        return self.max_cost is not None and spent >= self.max_cost and spent > 0

    def _count(self, outcome: ItemOutcome) -> None:
        self.progress.cost_usd += outcome.cost_usd
        if outcome.ok:
            self.progress.done += 1
        else:
            self.progress.failed += 1
            self.progress.failed_lines.append(outcome.line)
