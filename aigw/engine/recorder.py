"""The run-log recorder: the only writer of a run's rows, a subscriber of the engine's events.

Most events are one autocommitted statement. A paid result's rows are one transaction: the engine
emits ResultSaved (the file rows: the group opens), AttemptFinished (served) and RunFinished in one
synchronous stretch, so the group is committed before any other run's coroutine can write, and
concurrent runs on one engine never share or roll back each other's transaction.

A write that fails inside the group raises RunLogError and leaves the group open: the engine then
emits RunFinished with that error at once, which commits what is in (a file row the log has is a
file that goes into place) and marks the run failed, as any run-log failure fails a run (exit 1).
A commit that fails rolls the group back and raises CommitFailed: the rows are gone, so the result
is kept elsewhere (exit 9/10; see aigw/engine/keeper.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aigw import errors
from aigw.events import (
    AttemptFinished,
    CacheHit,
    ChunkDone,
    DeliveryFailed,
    Event,
    JobSubmitted,
    ResultSaved,
    RunFinished,
    RunStarted,
)
from aigw.store import RunLog
from aigw.store import chunks


class CommitFailed(errors.RunLogError):
    """The group of a paid result did not commit and was rolled back."""


class Recorder:
    def __init__(self, log: Callable[[], RunLog], now: Callable[[], datetime]) -> None:
        self._log = log  # the engine's run log, opened when first needed
        self._now = now
        self._group: str | None = None  # the run whose paid-result group is open

    def __call__(self, event: Event) -> None:
        if isinstance(event, (RunStarted, AttemptFinished, JobSubmitted, ResultSaved, CacheHit, RunFinished,
                              DeliveryFailed, ChunkDone)):
            try:
                self._record(event)
            except errors.RunLogError:
                raise  # the group stays open for the RunFinished that follows (see above)
            except BaseException:
                self._abandon()
                raise

    def _record(self, event: Event) -> None:
        log = self._log()
        if isinstance(event, RunStarted):
            log.start_run(event.run_id, kind=event.kind, created_at=event.created_at,
                          requested_model=event.requested_model, request=event.request,
                          estimated_cost_usd=event.estimated_cost_usd)
        elif isinstance(event, AttemptFinished):
            log.add_attempt(event.run_id, event.attempt)
        elif isinstance(event, CacheHit):  # a transaction of its own: nothing was paid, so all or nothing
            from aigw.store.cache.index import record_hit

            log.begin_group()
            try:
                record_hit(log.conn, event.run_id, event.source_run, event.key, event.at)
                for f in event.files:
                    log.record_file(event.run_id, f.path, f.size, f.sha256, event.at)
                log.end_group()
            finally:
                log.abandon_group()
        elif isinstance(event, ChunkDone):
            chunks.record(log, event.run_id, event.row, event.at)
        elif isinstance(event, JobSubmitted):
            log.record_job(event.run_id, event.provider, event.job_id, event.status, event.details,
                           event.at or self._now())
        elif isinstance(event, ResultSaved):
            self._begin(log, event.run_id)
            for f in event.files:
                log.record_file(event.run_id, f.path, f.size, f.sha256, event.created_at)
        elif isinstance(event, RunFinished):
            if event.result is not None:
                self._begin(log, event.run_id)
                log.finish_run(event.result)
                self._commit(log)
                return
            if self._group == event.run_id:  # a paid result whose rows are in: kept, whatever failed
                self._commit(log)
            if event.interrupted:
                log.interrupt_run(event.run_id, exit_code=event.exit_code, error=event.error or "")
            else:
                log.fail_run(event.run_id, exit_code=event.exit_code, error=event.error or "")
        elif isinstance(event, DeliveryFailed):
            log.begin_group()
            try:
                if event.moved:
                    log.relocate_files(event.run_id, [m for m in event.moved],
                                       event.created_at or self._now())
                log.record_delivery(event.run_id, exit_code=event.exit_code, error=event.error, lost=event.lost)
                log.end_group()
            finally:
                log.abandon_group()

    def _begin(self, log: RunLog, run_id: str) -> None:
        if self._group is None:
            log.begin_group()
            self._group = run_id
        assert self._group == run_id, "a paid-result group is open for another run"

    def _commit(self, log: RunLog) -> None:
        try:
            log.end_group()
        except errors.RunLogError as exc:
            self._abandon()
            raise CommitFailed(exc.message, hint=exc.hint) from exc
        self._group = None

    def _abandon(self) -> None:
        if self._group is not None:
            self._group = None
            try:
                self._log().abandon_group()
            except errors.RunLogError:
                pass
