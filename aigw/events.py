"""What happens while a request waits on a provider, as small typed events (STYLE.md item 14).

The router, the gate (circuit breaker and rate limit) and queue-job polling emit these through an
injected `EventSink`, a plain callable that defaults to `no_events`; subscribers (the terminal
status line, a plain diagnostic for pipes, later the run-log recorder) implement it. Nothing here
imports the CLI or anything heavy, so providers may emit without knowing who listens.

    AttemptStarted   the router hands a request to a provider (hop counts every try, from 1)
    Waiting          a pause before going on: a Retry-After or backoff before a retry, a rate-limit
                     slot, a polled job's Retry-After; `seconds`/`until` are None when unknown
    JobStatus        a queued job's status as the provider reports it (fal IN_QUEUE with its
                     queue position, Replicate starting/processing, RunPod IN_QUEUE/IN_PROGRESS)
    AttemptFinished  an attempt ended, served or failed, as recorded in the run log
    ChunkProgress    a long recording's run: chunks done, audio done, cost so far
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Union

if TYPE_CHECKING:
    from aigw.errors import ProviderError
    from aigw.types import Attempt

WaitKind = Literal["retry", "rate_limit_slot", "poll"]


@dataclass(frozen=True)
class AttemptStarted:
    provider: str
    model: str
    hop: int
    provider_model: str = ""


@dataclass(frozen=True)
class Waiting:
    provider: str
    kind: WaitKind
    cause: str  # for a person: "429, Retry-After 2 s", "rpm 30", "max_concurrency 2"
    seconds: float | None = None  # how long, when known
    until: datetime | None = None  # when it ends, when known


@dataclass(frozen=True)
class JobStatus:
    provider: str
    job_id: str
    status: str
    position: int | None = None  # place in the provider's queue, when it says


@dataclass(frozen=True)
class AttemptFinished:
    attempt: Attempt


@dataclass(frozen=True)
class ChunkProgress:
    done: int
    total: int
    seconds_done: float
    seconds_total: float
    cost_usd: float | None  # None: some chunk's cost is unknown

    def text(self) -> str:
        from aigw.catalog.pricing import usd_text

        cost = "cost unknown" if self.cost_usd is None else usd_text(self.cost_usd)
        return (f"chunks {self.done}/{self.total} · {self.seconds_done / 60:.1f} of {self.seconds_total / 60:.1f} min"
                f" · {cost}")


Event = Union[AttemptStarted, Waiting, JobStatus, AttemptFinished, ChunkProgress]
EventSink = Callable[[Event], None]


def no_events(event: Event) -> None:
    """The default sink: nobody listens."""


def retry_cause(exc: ProviderError) -> str:
    """Why a retry waits, in a few words: "429, Retry-After 2 s" or "retryable (HTTP 503), backoff"."""
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        return f"{exc.status or 429}, Retry-After {retry_after:g} s"
    status = f" (HTTP {exc.status})" if exc.status else ""
    return f"{exc.failure_class}{status}, backoff"
