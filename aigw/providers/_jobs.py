"""Queue-style jobs (fal, Replicate, RunPod, a plugin's): one state machine for all of them.

A queue API takes a job, answers its id, and is polled until the job ends. `JobMachine` does that the
same way for every such provider: submit, record the job at once (so an interrupted run knows what
was paid for), poll within the attempt's time with transient failures tolerated and Retry-After
honoured, read the result, and cancel the job exactly once when time runs out, the user interrupts
or polling fails, so nothing keeps running (and billing) unseen. `JobMachine.resume` polls a job
recorded by an earlier run and reads its result without submitting it again. What differs between
providers (URLs, JSON shapes, status names) is each one's small `QueueAPI`.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from aigw import errors
from aigw.clock import Clock
from aigw.events import EventSink, JobStatus, Waiting, no_events
from aigw.providers._http import translated

if TYPE_CHECKING:
    import httpx

    from aigw.providers.base import ProviderBase
    from aigw.types import RecordedJob

T = TypeVar("T")

CANCEL_GRACE_S = 5.0
POLL_ERRORS_TOLERATED = 5  # consecutive transient poll failures before giving up (the SDKs retry GETs ~10x)


async def poll_until(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    clock: Clock,
    timeout: float,
    cancel: Callable[[], Awaitable[object]] | None,
    provider: str,
    interval: float = 0.5,
    max_interval: float = 5.0,
) -> T:
    """Call `fetch` until `done(result)`; back off the interval gently; cancel on timeout or Ctrl-C."""
    started = clock.monotonic()
    wait = interval
    try:
        while True:
            state = await fetch()
            if done(state):
                return state
            left = timeout - (clock.monotonic() - started)
            if left <= 0:
                await _cancel_quietly(cancel)
                raise errors.RetryableError(f"{provider}: job did not finish within {timeout:.0f} s; cancelled it",
                                            provider=provider)
            await clock.sleep(min(wait, left))
            wait = min(wait * 1.5, max_interval)
    except asyncio.CancelledError:
        # Interrupted (Ctrl-C cancels the main task): stop the job at the provider, then go on unwinding.
        await asyncio.shield(_cancel_quietly(cancel))
        raise


async def _cancel_quietly(cancel: Callable[[], Awaitable[object]] | None) -> None:
    if cancel is None:
        return
    await quietly(cancel())


async def quietly(coro: Awaitable[object]) -> None:
    """Best effort, bounded: cancelling a job that may already be gone must not fail the run.

    Bounded for real: asyncio.wait_for (3.11) waits, after its timeout, for the timed-out request
    to finish cancelling, without a bound; here a request still running after CANCEL_GRACE_S is
    told to stop and left behind."""
    task = asyncio.ensure_future(coro)
    try:
        done, _ = await asyncio.wait({task}, timeout=CANCEL_GRACE_S)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
    elif not task.cancelled():
        task.exception()  # seen, not raised: the job may already be gone; cancelling is best effort


class PollState:
    """One job's polling: the last status seen, bytes read, and a cancel that runs at most once.

    A failed poll says nothing about the job, which is still running (and billing), so a transient
    failure keeps the last status, waits out any Retry-After, and counts; only `limit` failures in a
    row (or one the caller calls fatal) give up. Each new status (and queue position, fal's
    `queue_position`) goes to `events` as a JobStatus."""

    def __init__(self, *, clock: Clock, timeout: float, initial: dict[str, Any] | None = None,
                 limit: int = POLL_ERRORS_TOLERATED, events: EventSink = no_events, provider: str = "",
                 job_id: str = "") -> None:
        self.clock = clock
        self.events = events
        self.provider = provider
        self.job_id = job_id
        self._shown: JobStatus | None = None
        self.timeout = timeout
        self.started = clock.monotonic()
        self.last: dict[str, Any] = dict(initial or {})
        self.bytes = 0
        self.errors = 0
        self.limit = limit
        self.cancelled = False

    async def failed(self, exc: errors.RetryableError, *, fatal: bool = False) -> dict[str, Any]:
        self.errors += 1
        if fatal or self.errors > self.limit:
            raise exc
        if isinstance(exc, errors.RateLimitedError) and exc.retry_after:
            # Never past the attempt's end: the poll that follows then finds the time up and cancels.
            pause = min(exc.retry_after, max(self.timeout - (self.clock.monotonic() - self.started), 0.0))
            self.events(Waiting(self.provider, "poll", f"status poll: {exc.status or 429}, Retry-After "
                                f"{exc.retry_after:g} s", pause))
            await self.clock.sleep(pause)
        return dict(self.last)

    def seen(self, status: dict[str, Any], size: int) -> dict[str, Any]:
        self.errors = 0
        self.bytes += size
        self.last = status
        self._tell(status)
        return status

    def _tell(self, status: dict[str, Any]) -> None:
        position = status.get("queue_position")
        event = JobStatus(self.provider, self.job_id, str(status.get("status")),
                          position if isinstance(position, int) else None)
        if event != self._shown:
            self._shown = event
            self.events(event)

    def once(self, send: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        async def cancel() -> None:
            if self.cancelled:
                return
            self.cancelled = True
            await send()

        return cancel


# ---- the queue-job state machine ----------------------------------------------------------------
#
#   submit ──▶ record ("submitted") ──▶ poll ──▶ done? ──▶ fetch / read the result ──▶ record (completed | failed)
#                                        │  transient failure: keep the last status, honour Retry-After, count
#                                        │  gone (404 where the API says so, or any 404 of a resumed job): "expired"
#                                        └─ timeout, Ctrl-C, any other failure: cancel once, record "cancelled"
#
#   resume(recorded job) enters at "poll" (nothing is submitted), after checking the record can still be polled.


@dataclass
class QueuedJob:
    """A job at its provider and everything needed to find it again: what the run log records with
    every status (`details`), the status and cancel URLs (as the provider gave them, on its own origin,
    without the base URL's query, which may hold a key) included."""

    id: str
    status_url: str
    cancel_url: str
    details: dict[str, Any] = field(default_factory=dict)  # model or endpoint, result URL, route, ...

    def record(self) -> dict[str, Any]:
        return {**self.details, "status_url": self.status_url, "cancel_url": self.cancel_url}


@dataclass
class Submitted:
    """What a submit answered: the job, its first state (already finished for a held request such as
    RunPod's /runsync or Replicate's `Prefer: wait`), and what it took on the wire."""

    job: QueuedJob
    state: dict[str, Any]
    sent: int = 0
    received: int = 0
    http_status: int = 200


@dataclass
class Finished:
    """A job at its end: the output `QueueAPI.result` read, its last state, and the wire totals."""

    output: Any
    state: dict[str, Any]
    sent: int
    received: int
    http_status: int


class QueueAPI(abc.ABC):
    """What one provider's queue API is: its URLs, its JSON and its status names. The JobMachine does
    the rest (recording, polling, tolerating, waiting, cancelling once, resuming) the same way for all."""

    cancel_method: ClassVar[str] = "POST"
    poll_interval: float = 0.5  # the first wait between polls, growing by half each time up to:
    max_poll_interval: float = 2.0
    # A 404 from the status URL means the job is gone for good (RunPod: its ttl ran out). Otherwise a
    # 404 right after submitting is counted as a failed poll, and only a resumed job's 404 is final.
    gone_on_404: ClassVar[bool] = False

    @abc.abstractmethod
    def headers(self) -> dict[str, str]:
        """The request headers every job request carries (the key among them)."""

    def poll_url(self, job: QueuedJob) -> str:
        """The URL to GET for the job's status (the base URL's query added back by the provider)."""
        return job.status_url

    def cancel_url(self, job: QueuedJob) -> str:
        return job.cancel_url

    def missing(self, job: QueuedJob) -> str:
        """What a 404 from the status URL says about the job (after the provider's name)."""
        return f"job {job.id} not found (404 from its status URL: the provider dropped it or it expired)"

    @abc.abstractmethod
    def error(self, resp: httpx.Response, job: QueuedJob) -> errors.ProviderError:
        """An error answer to a status poll, as an aigw error."""

    @abc.abstractmethod
    def state(self, resp: httpx.Response, job: QueuedJob) -> dict[str, Any]:
        """A status answer read as a dict with `status`; RetryableError when it has the wrong shape."""

    @abc.abstractmethod
    def done(self, state: dict[str, Any], job: QueuedJob) -> bool:
        """Whether polling can stop: the job reached an end (or, Replicate, its output is already there)."""

    @abc.abstractmethod
    async def result(self, job: QueuedJob, state: dict[str, Any], *, timeout: float) -> tuple[Any, int]:
        """The output of a job at its end and the bytes read for it: fetched (fal's response_url) or
        read from the final state. Reports "completed" or "failed" through `machine.report`; raises the
        job's failure as an aigw error."""

    @abc.abstractmethod
    def recorded(self, job_id: str, details: dict[str, Any]) -> QueuedJob:
        """The job the run log recorded, rebuilt to poll again: URLs kept only on this provider's origin
        (the key never goes elsewhere). JobGoneError when the record lacks what that needs."""


# Recorded statuses of a job that cannot be polled again: nothing is left to fetch.
UNRESUMABLE = {"cancelled": "job_cancelled", "expired": "job_expired"}


class JobMachine:
    """One provider's queue jobs: submit, record, poll, fetch, cancel once; or resume a recorded one.

    Every status goes through `report`, the provider's one `report_job` (the run log's `jobs` row), with
    the job's full record, so whichever row is read last still finds the job."""

    def __init__(self, provider: ProviderBase, api: QueueAPI) -> None:
        self.provider = provider
        self.api = api
        self.name = provider.name

    def report(self, job: QueuedJob, status: str, **extra: Any) -> None:
        self.provider.report_job(job.id, status, {**job.record(), **extra})

    async def run(self, submit: Callable[[], Awaitable[Submitted]], *, timeout: float) -> Finished:
        """Submit, record the job at once, poll it (unless the submit answered it finished), read its result."""
        clock = self.provider.clock
        started = clock.monotonic()
        sub = await submit()
        self.report(sub.job, "submitted")
        state, received = sub.state, sub.received
        if not self.api.done(state, sub.job):
            state, got = await self.poll(sub.job, timeout=timeout - (clock.monotonic() - started), initial=state)
            received += got
        output, got = await self.api.result(sub.job, state, timeout=timeout - (clock.monotonic() - started))
        return Finished(output, state, sub.sent, received + got, sub.http_status)

    async def resume(self, recorded: RecordedJob, *, timeout: float) -> Finished:
        """The recorded job polled to its end and its result read, with nothing submitted.

        JobGoneError (retryable) when the job cannot be polled any more: the record says it was
        cancelled or expired, the record lacks its URLs, or the provider answers 404 for it. A job
        that failed at the provider raises its failure as a normal run would."""
        if recorded.provider != self.name:
            raise errors.JobGoneError(f"{self.name}: job {recorded.job_id} was recorded for {recorded.provider}",
                                      provider=self.name, code="job_gone")
        code = UNRESUMABLE.get(recorded.status)
        if code is not None:
            raise errors.JobGoneError(
                f"{self.name}: job {recorded.job_id} was {recorded.status}"
                + (f" ({recorded.details['reason']})" if recorded.details.get("reason") else "")
                + "; nothing of it can be fetched", provider=self.name, code=code)
        clock = self.provider.clock
        started = clock.monotonic()
        job = self.api.recorded(recorded.job_id, dict(recorded.details))
        self.report(job, "resumed")
        state, received = await self.poll(job, timeout=timeout, initial={"id": job.id}, resumed=True)
        output, got = await self.api.result(job, state, timeout=timeout - (clock.monotonic() - started))
        return Finished(output, state, 0, received + got, 200)

    async def poll(self, job: QueuedJob, *, timeout: float, initial: dict[str, Any] | None = None,
                   resumed: bool = False) -> tuple[dict[str, Any], int]:
        """Poll until `done`, within `timeout`; cancel once on timeout, Ctrl-C or a failure. Returns
        (the last state, bytes read). A job found gone is recorded "expired" and not cancelled."""
        provider, api = self.provider, self.api
        poll = PollState(clock=provider.clock, timeout=timeout, initial=initial, events=provider.events,
                         provider=self.name, job_id=job.id)

        async def fetch() -> dict[str, Any]:
            try:
                with translated(self.name):
                    resp = await provider.http.get(api.poll_url(job), headers=api.headers(),
                                                   timeout=min(30.0, max(timeout, 1.0)))
                if resp.status_code == 404:  # final for a resumed job; just after a submit, maybe not yet there
                    gone = errors.JobGoneError if resumed or api.gone_on_404 else errors.RetryableError
                    raise gone(f"{self.name}: {api.missing(job)}", provider=self.name, status=404, code="job_expired")
                if resp.status_code >= 400:
                    raise api.error(resp, job)
                state = api.state(resp, job)
            except errors.RetryableError as exc:
                return await poll.failed(exc, fatal=isinstance(exc, errors.JobGoneError))
            return poll.seen(state, len(resp.content))

        async def send_cancel() -> None:
            with translated(self.name):
                await provider.http.request(api.cancel_method, api.cancel_url(job), headers=api.headers(),
                                            timeout=10.0)

        cancel = poll.once(send_cancel)
        try:
            state = await poll_until(fetch, lambda s: api.done(s, job), clock=provider.clock, timeout=timeout,
                                     cancel=cancel, provider=self.name, interval=api.poll_interval,
                                     max_interval=api.max_poll_interval)
        except asyncio.CancelledError:
            self.report(job, "cancelled", reason="interrupted")
            raise
        except errors.ProviderError as exc:
            if isinstance(exc, errors.JobGoneError):
                self.report(job, "expired", reason=exc.message)
                raise
            await quietly(cancel())  # poll_until cancels on timeout; no other failure may leave it running
            self.report(job, "cancelled", reason=exc.message)
            raise
        return state, poll.bytes
