"""What happens to a request, as small typed events (STYLE.md item 14).

The engine (aigw/engine/), the failover policy, the gate (circuit breaker and rate limit) and
queue-job polling emit these through an injected `EventSink`, a plain callable that defaults to
`no_events`. The engine's `Bus` hands each event to its subscribers in order, synchronously: the
run-log recorder (aigw/engine/recorder.py, the only writer of the run log), the terminal renderer
(aigw/cli/status.py: the status line and the stderr messages) and whatever a caller adds (a batch's
progress). Nothing here imports the CLI or anything heavy, so providers may emit without knowing
who listens.

    RunStarted       a run is about to send its first request (the log gets its `running` row)
    AttemptStarted   the failover policy hands a request to a provider (hop counts every try, from 1)
    Waiting          a pause before going on: a Retry-After or backoff before a retry, a rate-limit
                     slot, a polled job's Retry-After; `seconds`/`until` are None when unknown
    JobSubmitted     a queue provider's job was created or changed (fal, Replicate, RunPod): recorded
                     so an interrupted run can be found and resumed
    JobStatus        a queued job's status as the provider reports it (fal IN_QUEUE with its
                     queue position, Replicate starting/processing, RunPod IN_QUEUE/IN_PROGRESS)
    AttemptFinished  an attempt ended, served or failed, as recorded in the run log
    ResultSaved      the paid result's files (staged as `.part`, not yet renamed), for the log
    CacheHit         the run is answered from the result cache (aigw/engine/cache.py): nothing is sent;
                     the run it came from and its result files (linked, not yet renamed), one
                     transaction in the log; RunFinished follows
    RunFinished      the run's end: its result (exit 0) or its error and exit code
    DeliveryFailed   a served run's result did not reach where it was asked for (exit 7, 9, 10)
    Notice           a message for a person: level info ("notice: "), warning, or cost (plain)
    ChunkDone        a long recording's chunk transcribed (its row in the log, for --resume)
    ChunkProgress    a long recording's run: chunks done, audio done, cost so far

The events of one paid result (ResultSaved, AttemptFinished served, RunFinished) are emitted in one
synchronous stretch: the recorder opens its transaction on the first and commits on the last.
`run_id` is "" on events emitted outside a run (a unit test of the policy, `aigw models --check`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union

if TYPE_CHECKING:
    from aigw.errors import ProviderError
    from aigw.store.chunks import ChunkRow
    from aigw.types import Attempt, RunResult

WaitKind = Literal["retry", "rate_limit_slot", "poll"]
NoticeLevel = Literal["info", "warning", "cost"]


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    kind: str  # "image" or "audio"
    requested_model: str
    request: dict[str, Any]  # the request as the log keeps it (JSON-able)
    estimated_cost_usd: float | None
    created_at: datetime


@dataclass(frozen=True)
class AttemptStarted:
    provider: str
    model: str
    hop: int
    provider_model: str = ""
    run_id: str = ""


@dataclass(frozen=True)
class Waiting:
    provider: str
    kind: WaitKind
    cause: str  # for a person: "429, Retry-After 2 s", "rpm 30", "max_concurrency 2"
    seconds: float | None = None  # how long, when known
    until: datetime | None = None  # when it ends, when known
    run_id: str = ""


@dataclass(frozen=True)
class JobSubmitted:
    run_id: str
    provider: str
    job_id: str
    status: str
    details: dict[str, Any] = field(default_factory=dict)  # status/cancel URLs, what resuming needs
    at: datetime | None = None


@dataclass(frozen=True)
class JobStatus:
    provider: str
    job_id: str
    status: str
    position: int | None = None  # place in the provider's queue, when it says
    run_id: str = ""


@dataclass(frozen=True)
class AttemptFinished:
    attempt: Attempt
    run_id: str = ""

    @property
    def failure_class(self) -> str | None:
        return self.attempt.failure_class

    @property
    def waited_s(self) -> float:
        return self.attempt.waited_s


@dataclass(frozen=True)
class SavedFile:
    path: Path  # its final name in the cache (the bytes sit beside it as `.part` until the commit)
    size: int
    sha256: str


@dataclass(frozen=True)
class ResultSaved:
    run_id: str
    files: tuple[SavedFile, ...]
    created_at: datetime


@dataclass(frozen=True)
class CacheHit:
    run_id: str
    source_run: str  # the paid run whose result answers this one
    key: str  # the cache entry's key
    files: tuple[SavedFile, ...]  # the hit's own result files under results/
    at: datetime


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    result: RunResult | None = None  # served: exit 0
    error: str | None = None
    exit_code: int = 0
    interrupted: bool = False  # Ctrl-C, SIGTERM, SIGHUP (exit 130, 143, 129)


@dataclass(frozen=True)
class DeliveryFailed:
    run_id: str
    error: str
    exit_code: int | None  # None keeps the code already recorded (a run that failed for another reason)
    lost: bool = False  # nothing was kept anywhere (exit 10)
    moved: tuple[tuple[Path | None, Path, int, str], ...] = ()  # (old path or None, new path, size, sha256)
    created_at: datetime | None = None


@dataclass(frozen=True)
class Notice:
    level: NoticeLevel
    text: str
    run_id: str = ""


@dataclass(frozen=True)
class ChunkDone:
    run_id: str
    row: ChunkRow
    at: datetime


@dataclass(frozen=True)
class ChunkProgress:
    done: int
    total: int
    seconds_done: float
    seconds_total: float
    cost_usd: float | None  # None: some chunk's cost is unknown
    run_id: str = ""

    def text(self) -> str:
        from aigw.catalog.pricing import usd_text

        cost = "cost unknown" if self.cost_usd is None else usd_text(self.cost_usd)
        return (f"chunks {self.done}/{self.total} · {self.seconds_done / 60:.1f} of {self.seconds_total / 60:.1f} min"
                f" · {cost}")


Event = Union[RunStarted, AttemptStarted, Waiting, JobSubmitted, JobStatus, AttemptFinished, ResultSaved,
              CacheHit, RunFinished, DeliveryFailed, Notice, ChunkDone, ChunkProgress]
EventSink = Callable[[Event], None]


def no_events(event: Event) -> None:
    """The default sink: nobody listens."""


class Bus:
    """Subscribers in the order they were added; `emit` calls each at once. An exception in a
    subscriber (the recorder's failed commit) reaches the emitter, which must know."""

    def __init__(self, *subscribers: EventSink) -> None:
        self.subscribers: list[EventSink] = [s for s in subscribers if s is not no_events]

    def subscribe(self, subscriber: EventSink) -> None:
        self.subscribers.append(subscriber)

    def unsubscribe(self, subscriber: EventSink) -> None:
        self.subscribers.remove(subscriber)

    def __call__(self, event: Event) -> None:
        for subscriber in self.subscribers:
            subscriber(event)

    emit = __call__


def retry_cause(exc: ProviderError) -> str:
    """Why a retry waits, in a few words: "429, Retry-After 2 s" or "retryable (HTTP 503), backoff"."""
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        return f"{exc.status or 429}, Retry-After {retry_after:g} s"
    status = f" (HTTP {exc.status})" if exc.status else ""
    return f"{exc.failure_class}{status}, backoff"
