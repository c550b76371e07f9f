"""What every use case needs, built once per command: settings, catalog, clock, paths, HTTP, log."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aigw import errors, interrupts
from aigw.clock import Clock, SystemClock
from aigw.events import EventSink, no_events
from aigw.router.candidates import Candidate
from aigw.router.run import Hooks, Outcome, Policy, Router
from aigw.store import RunLog, open_store
from aigw.store.ids import new_run_id
from aigw.types import Attempt

if sys.version_info >= (3, 11):
    from asyncio import timeout as bounded
else:  # the same context manager, before asyncio had it
    from async_timeout import timeout as bounded

if TYPE_CHECKING:
    import httpx

    from aigw.router.gate import Gate

    from aigw.catalog import Catalog
    from aigw.settings.loader import Loaded

T = TypeVar("T")

ATTEMPT_GRACE_S = 0.5  # past --timeout, before the whole-attempt bound cancels a provider call


@dataclass(frozen=True)
class RunOptions:
    """Per-invocation routing choices from flags; None means "as configured"."""

    substitute: bool | None = None
    fallback_on_refusal: bool = False
    deadline_s: float | None = None
    timeout_s: float | None = None
    providers: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()
    dry_run: bool = False
    max_cost: float | None = None
    allow_unpriced: bool = False
    ignore_circuits: bool = False  # aigw bench: a measurement, not routing, so open circuits are tried


@dataclass
class Context:
    loaded: Loaded
    catalog: Catalog
    cache_dir: Path
    clock: Clock = field(default_factory=SystemClock)
    notify: Callable[[str], None] = lambda message: None
    events: EventSink = no_events  # AttemptStarted, Waiting, JobStatus...: what a status line shows
    transport: httpx.AsyncBaseTransport | None = None  # tests may inject one; real runs use the network
    started: float | None = None  # clock.monotonic() when aigw began handling the request
    _session: tuple[RunLog, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.started is None:
            self.started = self.clock.monotonic()

    @property
    def settings(self) -> Any:
        return self.loaded.settings

    def open_log(self) -> RunLog:
        if self._session is not None:
            return self._session[0]
        return open_store(self.cache_dir)

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Context]:
        """One run log and one HTTP client (its connection pool) for several runs: `aigw bench`, or
        a program calling generate() in a loop, pays the setup once instead of per run."""
        import httpx

        from aigw.providers._http import capped

        log = open_store(self.cache_dir, keep_open=True)
        client = httpx.AsyncClient(transport=capped(self.transport), timeout=httpx.Timeout(300.0, connect=10.0))
        self._session = (log, client)
        try:
            yield self
        finally:
            self._session = None
            await client.aclose()
            log.really_close()

    def new_run_id(self) -> str:
        return new_run_id(self.clock.now())

    @contextlib.asynccontextmanager
    async def http(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._session is not None:
            yield self._session[1]
            return
        import httpx

        from aigw.providers._http import capped

        async with httpx.AsyncClient(transport=capped(self.transport), timeout=httpx.Timeout(300.0, connect=10.0),
                                     follow_redirects=False) as client:
            yield client

    def planning_provider(self, name: str) -> Any:
        """A provider built only to map parameters (prepare_*): no client, sends nothing."""
        from aigw.providers import base

        return base.build(name, self.settings.provider(name), None, clock=self.clock)

    def live_provider(self, name: str, client: httpx.AsyncClient, log: RunLog | None = None, run_id: str = "") -> Any:
        """A provider for one attempt, whose queued jobs are written to the run log as they start."""
        from aigw.providers import base

        provider = base.build(name, self.settings.provider(name), client, clock=self.clock)
        provider.events = self.events
        if log is not None:
            provider.on_job = lambda job_id, status, details: log.record_job(
                run_id, name, job_id, status, details, self.clock.now())
        return provider

    def policy(self, options: RunOptions, default_timeout: float) -> Policy:
        routing = self.settings.routing
        return Policy(
            retries=routing.retries,
            retry_before_failover=routing.retry_before_failover,
            fallback_on_refusal=options.fallback_on_refusal,
            deadline_s=options.deadline_s if options.deadline_s is not None else routing.deadline,
            attempt_timeout_s=options.timeout_s or default_timeout,
            started=self.started,
            ignore_circuits=options.ignore_circuits,
        )

    def gate(self, log: RunLog) -> Gate:
        from aigw.router.gate import Gate, Limits

        breaker = self.settings.routing.breaker
        limits = {name: Limits(p.rpm, p.max_concurrency) for name, p in self.settings.providers.items()
                  if p.rpm or p.max_concurrency}
        return Gate(log.state, self.clock, failures=breaker.failures, cooldown=breaker.cooldown, limits=limits,
                    notify=self.notify, events=self.events)

    def substitute(self, options: RunOptions) -> bool:
        return options.substitute if options.substitute is not None else self.settings.routing.substitute_retired


def possibly_billed_note(attempts: list[Attempt]) -> str:
    """'a timed-out attempt at X may be billed ~$0.04' for each attempt that timed out after sending."""
    from aigw.catalog.pricing import format_usd

    return "; ".join(f"a timed-out attempt at {a.provider} may be billed "
                     f"{'~' + format_usd(a.estimated_cost_usd) if a.estimated_cost_usd is not None else '(price unknown)'}"
                     for a in attempts)


def provider_timeout(ctx: Context, cand: Candidate, default: float) -> float:
    configured = ctx.settings.provider(cand.provider).timeout
    return configured or default


async def route(ctx: Context, log: RunLog, run_id: str, candidates: list[Candidate], options: RunOptions,
                *, default_timeout: float, call: Callable[[Candidate, float], Awaitable[T]],
                cost_of: Callable[[Candidate, T | None], tuple[float | None, float | None]],
                sizes_of: Callable[[T], tuple[int, int, int | None]],
                shape: Callable[[Attempt], Attempt] = lambda a: a,
                placed: Callable[[Attempt], None] = lambda a: None) -> Outcome[T]:
    """Run the router with the run log attached; a failed run is marked failed with its exit code.
    A chunk of a long recording (services/chunked.py) is one of several requests of its run:
    `shape` numbers its attempts across the run and names the chunk, `placed` tags the row."""
    attempts: list[Attempt] = []
    billed: list[Attempt] = []

    def on_attempt(attempt: Attempt) -> None:
        attempt = shape(attempt)
        attempts.append(attempt)
        log.add_attempt(run_id, attempt)
        placed(attempt)
        if attempt.possibly_billed:
            billed.append(attempt)

    router = Router(clock=ctx.clock, policy=ctx.policy(options, default_timeout),
                    hooks=Hooks(on_attempt=on_attempt, notify=ctx.notify, events=ctx.events),
                    gate=ctx.gate(log))

    async def timed_call(cand: Candidate, timeout: float) -> T:
        limit = min(timeout, provider_timeout(ctx, cand, timeout))
        # httpx's timeouts are per read: a server sending a byte a second never trips them. This bounds
        # the whole attempt (connect, headers, body, image download, queue polling) and cancels it; the
        # grace lets a provider's own bound (a queue job's "did not finish; cancelled it") speak first.
        try:
            async with bounded(limit + ATTEMPT_GRACE_S):
                return await call(cand, limit)
        except asyncio.TimeoutError as exc:  # the builtin TimeoutError from 3.11 on
            raise errors.TimedOutError(f"{cand.provider}: no complete reply within {limit:g} s",
                                       provider=cand.provider) from exc

    try:
        return await router.run(candidates, timed_call, cost_of=cost_of, sizes_of=sizes_of)
    except errors.AigwError as exc:
        log.end_group()
        log.fail_run(run_id, exit_code=exc.exit_code, error=exc.message)
        exc.run_id, exc.attempts = run_id, tuple(attempts)  # for --json's failure object
        if billed:
            ctx.notify("cost: unknown; " + possibly_billed_note(billed))
        raise
    except BaseException as exc:
        log.end_group()
        # Ctrl-C, SIGTERM and SIGHUP reach a coroutine as CancelledError (cli/signals.py cancels the task).
        if isinstance(exc, (KeyboardInterrupt, asyncio.CancelledError)):
            log.interrupt_run(run_id, exit_code=interrupts.exit_code(), error=interrupts.describe())
        else:
            log.fail_run(run_id, exit_code=1, error=repr(exc))
        raise
