"""What happens to a request, start to end. The one run loop, for every kind and every caller.

    plan            (aigw/engine/planning.py with the kind's group(): models to try, candidates
                    mapped by their provider, estimates, strategy order)
    cost limits     --max-cost and budgets (planning.enforce_costs), before anything is sent
    RunStarted      the estimate on stderr, the run's `running` row in the log
    failover loop   aigw/router/run.py's Failover says which candidate next, after which wait
                    (gate: circuit breaker, rate-limit slot; Retry-After; backoff), and raises the
                    final error (deadline, model_not_found, NoProviderSucceeded)
    provider call   bounded as a whole (`limit + ATTEMPT_GRACE_S`): httpx's timeouts are per read,
                    so a server sending a byte a second never trips them
    stage           the paid result's bytes to `.part` files beside their final names
    commit          ResultSaved + AttemptFinished (served) + RunFinished in one synchronous stretch:
                    the recorder writes the file rows, the served attempt and the run's end as one
                    transaction; then the files are renamed into place (aigw/engine/keeper.py says
                    why in that order). A commit that fails keeps the result elsewhere: exit 9/10;
                    a log write that fails before it fails the run (exit 1), keeping what got in.
    failure         RunFinished with the error and exit code (a signal marks the run interrupted,
                    exit 130/143/129); timed-out attempts that may be billed are said on stderr

Nothing here awaits between staging and the commit, so many runs on one engine (asyncio tasks)
are safe: their transactions never interleave.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from aigw import errors, interrupts
from aigw.engine.keeper import Keeper
from aigw.engine.kinds import base_fields
from aigw.engine.planning import Plan, Planned, RunOptions, estimate_line, possibly_billed_note
from aigw.engine.recorder import CommitFailed
from aigw.events import AttemptFinished, Event, JobSubmitted, Notice, RunFinished, RunStarted
from aigw.router.run import Failover
from aigw.types import Attempt, RunResult

if sys.version_info >= (3, 11):
    from asyncio import timeout as bounded
else:  # the same context manager, before asyncio had it
    from async_timeout import timeout as bounded

if TYPE_CHECKING:
    from aigw.engine.core import Engine

ATTEMPT_GRACE_S = 0.5  # past --timeout, before the whole-attempt bound cancels a provider call


@dataclass(frozen=True)
class Served:
    """What a run returns: its record, and for a transcription the transcript in the asked format."""

    result: RunResult
    body: str | None = None


async def run_plan(engine: Engine, plan: Plan[Any], options: RunOptions, *, output: str | None,
                   started: float, run_id: str | None = None) -> Served:
    kind, job = plan.kind, plan.job
    assert kind is not None, "a plan made by Engine.plan()"
    first = plan.first
    run_id = run_id or engine.new_run_id()
    emit = engine.bus.emit
    emit(Notice("cost", estimate_line(first.estimate, first.candidate), run_id))
    for reason in plan.skipped:
        emit(Notice("info", f"skipping {reason}", run_id))
    created = engine.clock.now()
    emit(RunStarted(run_id, kind.name, plan.requested, kind.log_request(job), first.estimate.usd, created))
    by_candidate = {id(p.candidate): p for p in plan.items}
    failover = Failover([p.candidate for p in plan.items], clock=engine.clock, rng=engine.rng,
                        policy=engine.policy(options, kind.default_timeout, started), gate=engine.gate,
                        events=emit, run_id=run_id)
    try:
        item, value = await _route(engine, plan, failover, by_candidate, run_id)
    except BaseException as exc:
        _ended_by(engine, run_id, exc, failover)
        raise
    # Paid for: on disk before anything else can fail, and in the log in one commit with the served
    # attempt and the run's end. No await from here to the rename.
    keeper = Keeper(engine.cache_dir, run_id, created, emit=emit)
    try:
        keeper.stage(kind.artefacts(job, value), provenance=kind.provenance(job, item, value, run_id))
        for warning in kind.warnings(value):
            emit(Notice("warning", warning, run_id))
        up, down, status = kind.sizes(item, value)
        attempt = failover.served(estimated_cost_usd=item.estimate.usd, actual_cost_usd=kind.actual_cost(item, value),
                                  bytes_up=up, bytes_down=down, http_status=status)
        paths = [str(p.final) for p in keeper.pending]
        result = kind.result(job, item, value, base_fields(run_id, kind.name, plan.requested, item, failover.attempts,
                                                           paths, created, engine.clock.now()))
        try:
            emit(keeper.saved())  # the group opens with the file rows
            keeper.recorded = keeper.cache_error is None
            emit(AttemptFinished(attempt, run_id))
            emit(RunFinished(run_id, result=result))  # the run's end, and the commit
        except CommitFailed as exc:
            keeper.log_failed(exc.message)
        keeper.place()
    except BaseException as exc:
        try:
            _ended_by(engine, run_id, exc, failover)  # commits the rows already in, marks the run failed
        except CommitFailed:
            keeper.recorded = False
        except errors.RunLogError:
            pass  # the failure being handled is the one to report
        keeper.salvage(output, add_suffix=kind.add_suffix)  # paid for before something else failed
        raise
    keeper.settle(result, output, add_suffix=kind.add_suffix)
    body = kind.body(job, value)
    if body is not None:  # the transcript as kept, its provenance included: stdout and -o carry the same
        body = keeper.pending[0].data.decode("utf-8")
    return Served(result, body)


def _ended_by(engine: Engine, run_id: str, exc: BaseException, failover: Failover) -> None:
    """The run failed: its end in the log with the exit code, and on the error what --json names."""
    emit = engine.bus.emit
    if isinstance(exc, errors.AigwError):
        exc.run_id, exc.attempts = run_id, tuple(failover.attempts)  # for --json's failure object
        emit(RunFinished(run_id, error=exc.message, exit_code=exc.exit_code))
        billed = [a for a in failover.attempts if a.possibly_billed]
        if billed:
            emit(Notice("cost", "cost: unknown; " + possibly_billed_note(billed), run_id))
    # Ctrl-C, SIGTERM and SIGHUP reach a coroutine as CancelledError (cli/signals.py cancels the task).
    elif isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):
        emit(RunFinished(run_id, error=interrupts.describe(), exit_code=interrupts.exit_code(), interrupted=True))
    else:
        emit(RunFinished(run_id, error=repr(exc), exit_code=1))


async def _route(engine: Engine, plan: Plan[Any], failover: Failover, by_candidate: dict[int, Planned[Any]],
                 run_id: str, shape: Callable[[Attempt], Attempt] = lambda a: a) -> tuple[Planned[Any], Any]:
    """Attempts until one serves: (the candidate's plan item, what its provider returned). `shape`
    marks a failed attempt as a chunk's (aigw/engine/chunks.py: one run, several requests)."""
    kind, job, emit = plan.kind, plan.job, engine.bus.emit
    assert kind is not None
    announced: set[int] = set()
    resume = plan.resume  # a job an earlier run left: its provider polls it once, instead of a new submit
    while True:
        turn = await failover.next_turn()
        cand = turn.candidate
        item = by_candidate[id(cand)]
        if id(cand) not in announced:
            announced.add(id(cand))
            if item.model_group != plan.requested and cand is not plan.first.candidate:
                emit(Notice("info", f"falling back to {item.model_group}", run_id))
            notice = kind.announce(item, job)
            if notice:
                emit(Notice("info", notice, run_id))
            for warning in cand.warnings:
                emit(Notice("warning", warning, run_id))
        _attach(engine, item.provider, run_id)
        limit = min(turn.timeout, engine.settings.provider(cand.provider).timeout or turn.timeout)
        try:
            # The grace lets a provider's own bound (a queue job's "did not finish; cancelled it") speak first.
            try:
                async with bounded(limit + ATTEMPT_GRACE_S):
                    if resume is not None and resume.provider == cand.provider:
                        recorded, resume = resume, None
                        value = await _resumed(kind, item, job, limit, recorded, emit, run_id)
                    else:
                        value = await kind.call(item, job, limit)
            except asyncio.TimeoutError as exc:  # the builtin TimeoutError from 3.11 on
                raise errors.TimedOutError(f"{cand.provider}: no complete reply within {limit:g} s",
                                           provider=cand.provider) from exc
        except errors.ProviderError as exc:
            emit(AttemptFinished(shape(failover.failed(exc, estimated_cost_usd=item.estimate.usd)), run_id))
            continue
        except BaseException:
            failover.abandoned()
            raise
        return item, value


async def _resumed(kind: Any, item: Planned[Any], job: Any, limit: float, recorded: Any, emit: Any,
                   run_id: str) -> Any:
    """The result of a job an earlier run submitted; a job the provider no longer has (expired,
    cancelled, dropped) is submitted again, since nothing of it can be paid for or fetched."""
    try:
        return await kind.call(item, job, limit, recorded)
    except errors.JobGoneError as exc:
        emit(Notice("info", f"{exc.message}; submitting the request again", run_id))
        return await kind.call(item, job, limit)


def _attach(engine: Engine, provider: Any, run_id: str) -> None:
    """The provider reports its queued jobs (ProviderBase.job) and what it waits on as this run's
    events: JobSubmitted goes to the recorder, JobStatus/Waiting to the status line."""
    emit, now = engine.bus.emit, engine.clock.now

    def on_job(job_id: str, status: str, details: dict[str, Any]) -> None:
        emit(JobSubmitted(run_id, provider.name, job_id, status, details, now()))

    def events(event: Event) -> None:
        emit(replace(event, run_id=run_id) if getattr(event, "run_id", None) == "" else event)  # type: ignore[type-var]

    provider.on_job = on_job
    provider.events = events
