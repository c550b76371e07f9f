"""One batch from input to summary: find or make its record, estimate, check the cost limits,
run the items, keep every item's state in the run log. What a person sees is the caller's (Hooks)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from aigw import errors
from aigw.batch import seam
from aigw.batch.fingerprint import fingerprint
from aigw.batch.items import Input, Item, Kind, Malformed
from aigw.batch.outcome import ItemOutcome
from aigw.batch.progress import Progress
from aigw.batch.runner import Report, Runner, Work
from aigw.batch.ids import new_batch_id
from aigw.batch.store import DONE, FAILED, MALFORMED, PENDING, Batch, BatchStore, StoredItem
from aigw.engine import Engine, RunOptions

LATEST = "latest"


@dataclass
class Spec:
    kind: Kind
    content: bytes  # what the fingerprint reads: the input file, or the list of paths
    input: Input
    defaults: dict[str, Any]  # the command line's options; a JSON line overrides them
    argv: list[str]
    resume: str | None = None  # None, LATEST, or a batch id
    new: bool = False
    concurrency: int = 4
    max_cost: float | None = None
    allow_unpriced: bool = False


@dataclass
class Hooks:
    started: Callable[[str, bool, int], None] = lambda batch_id, resumed, skipped: None
    # total, items, of which unpriced, of which in the result cache (counted $0)
    estimated: Callable[[float, int, int, int], None] = lambda total, items, unpriced, cached: None
    malformed: Callable[[Malformed], None] = lambda entry: None
    done: Callable[[ItemOutcome], None] = lambda outcome: None
    progress: Callable[[Progress], None] = lambda progress: None
    runner: Callable[[Runner], None] = lambda runner: None  # to stop it (Ctrl-C)


@dataclass
class Summary:
    batch_id: str
    total: int  # items of the input (malformed lines included)
    ok: int
    failed_lines: list[int] = field(default_factory=list)  # failed and malformed, in order
    skipped: int = 0  # done by an earlier run of the batch
    report: Report = field(default_factory=Report)


class BatchExists(errors.UsageError):
    """The exact batch was run before: say which, and how to go on, rather than pay for it twice."""


async def run_batch(engine: Engine, spec: Spec, options: RunOptions, hooks: Hooks, lines: seam.Lines) -> Summary:
    """`lines` maps the engine's events to the items' lines, for the caller's subscriber."""
    fp = fingerprint(spec.kind, spec.content, spec.defaults)
    async with engine:
        # Opening the run log marks the runs of a killed aigw interrupted, which `reconcile` reads.
        engine.log  # noqa: B018
        store = BatchStore(engine.cache_dir / "aigw.db")
        try:
            return await _run(engine, store, fp, spec, options, hooks, lines)
        finally:
            store.close()


async def _run(engine: Engine, store: BatchStore, fp: str, spec: Spec, options: RunOptions, hooks: Hooks,
               lines: seam.Lines) -> Summary:
    existing = _existing(store, fp, spec)
    stored: dict[int, StoredItem] = {}
    if existing is not None:
        stored = {item.line: item for item in store.reconcile(existing.id)}
    entries = spec.input.entries
    todo: list[Item] = []
    skipped = 0
    for entry in entries:
        if isinstance(entry, Item):
            fields = {**spec.defaults, **entry.fields}
            before = stored.get(entry.line)
            if before is not None and before.status == DONE and before.request == _jsonable(fields):
                skipped += 1
                continue
            todo.append(Item(entry.line, fields, entry.id))
    outcomes: list[ItemOutcome] = []
    works, estimates = _estimate(engine, spec, options, todo, outcomes, lines)
    total = sum(e for e in estimates if e is not None)
    unpriced = sum(1 for e in estimates if e is None)
    from aigw.batch import costs

    costs.check(total=total, unpriced=unpriced, max_cost=spec.max_cost, allow_unpriced=spec.allow_unpriced,
                budget=engine.settings.budget, spent_since=engine.log.spent_since, now=engine.clock.now())
    batch_id = _record(store, existing, fp, spec, engine, entries)
    hooks.started(batch_id, existing is not None, skipped)
    hooks.estimated(total, len(works), unpriced, sum(1 for w in works if w.plan is not None and w.plan.expects_hit))
    for entry in entries:
        if isinstance(entry, Malformed):
            hooks.malformed(entry)
    for outcome in outcomes:  # could not be planned: failed without sending anything
        store.finish_item(batch_id, outcome.line, status=FAILED, exit_code=outcome.exit_code, error=outcome.error)
        hooks.done(outcome)
    progress = Progress(total=len(works), started_at=engine.clock.monotonic())
    # The earlier run of an item that submitted a queue job and never saw it end: the job is
    # polled for its result, not submitted again (it may still finish, and bill, at the provider).
    earlier = {line: item.run_id for line, item in stored.items()
               if item.status != DONE and item.run_id and store.unfinished_job(item.run_id)}

    spare = Spare(None if spec.max_cost is None else spec.max_cost - total)
    # Items asking for the same result (the same audio listed twice, a seeded prompt repeated) run
    # one after the other: the first pays, and those after it are answered from the result cache.
    same: dict[str, asyncio.Lock] = {}

    async def run_item(work: Work) -> ItemOutcome:
        key = seam.cache_key(engine, work.plan, work.fields, options)
        if key is None:
            return await run_alone(work)
        lock = same.setdefault(key, asyncio.Lock())
        async with lock:
            return await run_alone(work)

    async def run_alone(work: Work) -> ItemOutcome:
        run_id = engine.new_run_id()
        store.start_item(batch_id, work.line, run_id)
        item_options, held = spare.hold(work.plan, options, spec.allow_unpriced)
        try:
            outcome = await seam.run_one(engine, spec.kind, work.line, work.item_id, work.fields, item_options,
                                         run_id=run_id, lines=lines, earlier_run=earlier.get(work.line),
                                         planned=work.plan)
        except BaseException:  # cancelled (a second Ctrl-C): the batch starts nothing more
            spare.settle(held, None)
            raise
        spare.settle(held, outcome)
        store.finish_item(batch_id, work.line, status=DONE if outcome.ok else FAILED, exit_code=outcome.exit_code,
                          error=outcome.error)
        return outcome

    runner = Runner(run_item=run_item, concurrency=spec.concurrency, progress=progress, on_done=hooks.done,
                    max_cost=spec.max_cost, on_change=lambda: hooks.progress(progress))
    hooks.runner(runner)
    status = "interrupted"
    try:
        report = await runner.run(works)
        status = report.stopped or ("failed" if progress.failed or outcomes or spec.input.malformed else "done")
    finally:
        store.set_status(batch_id, "stopped" if status == "max-cost" else status)
    failed = sorted({*progress.failed_lines, *(o.line for o in outcomes), *(m.line for m in spec.input.malformed)})
    return Summary(batch_id, len(entries), skipped + progress.done, failed, skipped, report)


class Spare:
    """What --max-cost leaves beside the items estimated up front. An item the result cache holds
    counted $0 there; should its cached result not come after all (its entry damaged or removed
    meanwhile), its run may spend only from this: it holds its estimate while it runs, and gets it
    back when it was served from the cache, else the spend is the runner's to count."""

    def __init__(self, left: float | None) -> None:
        self.left = left

    def hold(self, plan: Any, options: RunOptions, allow_unpriced: bool) -> tuple[RunOptions, float]:
        if self.left is None or plan is None or not plan.expects_hit:
            return options, 0.0
        estimate = plan.first.estimate.usd
        limit = max(self.left, 0.0)
        held = estimate if estimate is not None and estimate <= limit else 0.0
        self.left -= held
        # Limited to what it holds (or to what is left, which refuses it): never over --max-cost.
        return replace(options, max_cost=held if held else limit, allow_unpriced=allow_unpriced), held

    def settle(self, held: float, outcome: ItemOutcome | None) -> None:
        """After the item's run (outcome None: it was cancelled): back unless it was spent."""
        if self.left is not None and held and (outcome is None or outcome.cost_usd == 0):
            self.left += held


def _existing(store: BatchStore, fp: str, spec: Spec) -> Batch | None:
    """The batch to resume, None for a new one; the exact input run before without --resume or
    --new is refused (exit 2) naming the batch."""
    if spec.resume not in (None, LATEST):
        batch = store.get(spec.resume)
        if batch is None:
            raise errors.UsageError(f"no batch {spec.resume} in the run log", hint="--resume with no id resumes "
                                    "the latest batch of this input")
        kind = "image" if spec.kind == "image" else "audio"
        if batch.kind != kind:
            raise errors.UsageError(f"batch {batch.id} is a batch of {batch.kind} requests")
        return batch
    latest = store.latest(fp)
    if spec.resume == LATEST:
        if latest is None:
            raise errors.UsageError("no batch of this input (and these options) to resume",
                                    hint="run it without --resume to start it")
        return latest
    if latest is not None and not spec.new:
        items = store.items(latest.id)
        done = sum(1 for i in items if i.status == DONE)
        raise BatchExists(f"this input was run before as batch {latest.id} ({done} of {len(items)} items done); "
                          "nothing sent", hint=f"--resume to run what is left of it (--resume {latest.id}), "
                          "or --new to run every item again as a new batch")
    return None


def _estimate(engine: Engine, spec: Spec, options: RunOptions, todo: list[Item],
              failed: list[ItemOutcome], lines: seam.Lines) -> tuple[list[Work], list[float | None]]:
    """Each item's plan and estimate; an item that cannot be planned (unknown model, missing file,
    no key) fails here, with its line, and the others go on. The plan is the one the item runs."""
    works: list[Work] = []
    estimates: list[float | None] = []
    for item in todo:
        try:
            planned = seam.plan(engine, spec.kind, item.line, item.fields, options, lines)
        except errors.AigwError as exc:
            failed.append(ItemOutcome(item.line, item.id, exc.exit_code, error=exc.message, hint=exc.hint))
            continue
        estimates.append(seam.estimate(planned))
        works.append(Work(item.line, item.id, item.fields, planned))
    return works, estimates


def _record(store: BatchStore, existing: Batch | None, fp: str, spec: Spec, engine: Engine,
            entries: list[Item | Malformed]) -> str:
    """A new batch with every line, or the resumed one brought up to this input (lines whose
    request changed run again; done ones stay done)."""
    rows = [(e.line, e.id, _jsonable({**spec.defaults, **e.fields}), PENDING, None) if isinstance(e, Item)
            else (e.line, e.id, {}, MALFORMED, e.error) for e in entries]
    if existing is None:
        batch_id = new_batch_id(engine.clock.now())
        store.create(batch_id, kind=spec.kind, fingerprint=fp, argv=spec.argv, created=engine.clock.now(), items=rows)
        return batch_id
    store.update(existing.id, fingerprint=fp, items=rows)
    return existing.id


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    """As the request is stored (tuples become lists), so a stored request compares equal."""
    return dict(json.loads(json.dumps(fields, default=str)))
