"""The engine: one object per process (or per batch) that plans and runs requests.

    async with open_engine(loaded, catalog, cache_dir) as engine:
        plan = engine.plan(request, options)              # what --dry-run shows; sends nothing
        served = await engine.run(request, options)       # or engine.run(plan, options)

It owns the settings, the catalog, the cache directory, the clock, one run log connection (opened
when first needed), one httpx.AsyncClient (its connection pool, capped transport), the gate
(circuit breakers and rate limits) and the event bus. The run-log recorder is its first
subscriber; `events=` (or `engine.bus.subscribe`) adds the others. Many runs may go at once on one
engine, as asyncio tasks calling `run` (see aigw/engine/run.py for why that is safe).
"""

from __future__ import annotations

import random
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from aigw import errors
from aigw.clock import Clock, SystemClock
from aigw.engine import cache
from aigw.engine.kinds import AudioKind, ImageKind, audio_job, plan_of
from aigw.engine.planning import Plan, RunOptions, enforce_costs, plan_groups
from aigw.engine.recorder import Recorder
from aigw.engine.run import Served, run_plan
from aigw.events import Bus, DeliveryFailed, EventSink, Notice, NoticeLevel, no_events
from aigw.router.run import Policy
from aigw.store.ids import new_run_id
from aigw.types import ImageRequest, TranscribeRequest

if TYPE_CHECKING:
    import httpx

    from aigw.catalog import Catalog
    from aigw.router.gate import Gate
    from aigw.settings.loader import Loaded
    from aigw.store import RunLog

Request = ImageRequest | TranscribeRequest


class Engine:
    def __init__(self, loaded: Loaded, catalog: Catalog, cache_dir: Path, *, clock: Clock | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, events: EventSink = no_events,
                 rng: random.Random | None = None) -> None:
        self.loaded = loaded
        self.catalog = catalog
        self.cache_dir = cache_dir
        self.clock = clock or SystemClock()
        self.transport = transport  # tests may inject one; real runs use the network
        self.rng = rng or random.Random()  # the failover's backoff jitter
        self.recorder = Recorder(lambda: self.log, self.clock.now)
        self.bus = Bus(self.recorder, events)
        self._log: RunLog | None = None
        self._client: httpx.AsyncClient | None = None
        self._gate: Gate | None = None
        self._open = False
        self.candidates_memo: dict[Any, Any] = {}  # planning._built: each model's candidates, built once
        self._provider_classes: dict[str, Any] = {}

    # ---- what it owns ----------------------------------------------------------------------------

    @property
    def settings(self) -> Any:
        return self.loaded.settings

    @property
    def log(self) -> RunLog:
        """The run log, opened on first use and kept open until the engine closes."""
        if self._log is None:
            from aigw.store import open_store

            self._log = open_store(self.cache_dir, keep_open=True)
        return self._log

    def has_log(self) -> bool:
        """Whether a run log exists yet (listing models must not create one)."""
        return self._log is not None or (self.cache_dir / "aigw.db").exists()

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            from aigw.providers._http import capped

            self._client = httpx.AsyncClient(transport=capped(self.transport),
                                             timeout=httpx.Timeout(300.0, connect=10.0), follow_redirects=False)
        return self._client

    @property
    def gate(self) -> Gate:
        if self._gate is None:
            from aigw.router.gate import Gate, Limits

            breaker = self.settings.routing.breaker
            limits = {name: Limits(p.rpm, p.max_concurrency) for name, p in self.settings.providers.items()
                      if p.rpm or p.max_concurrency}
            self._gate = Gate(self.log.state, self.clock, failures=breaker.failures, cooldown=breaker.cooldown,
                              limits=limits, notify=lambda text: self.notice("info", text), events=self.bus)
        return self._gate

    async def __aenter__(self) -> Engine:
        self._open = True
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._open = False
        client, self._client = self._client, None
        log, self._log = self._log, None
        self._gate = None
        try:
            if client is not None:
                await client.aclose()
        finally:
            if log is not None:
                log.really_close()

    # ---- helpers the run uses ----------------------------------------------------------------------

    def notice(self, level: NoticeLevel, text: str, run_id: str = "") -> None:
        self.bus.emit(Notice(level, text, run_id))

    def new_run_id(self) -> str:
        return new_run_id(self.clock.now())

    def provider(self, name: str) -> Any:
        """A provider for one plan (it maps the call, then sends it), on the engine's client."""
        settings = self.settings.provider(name)
        cls = self._provider_classes.get(name)
        if cls is None:  # found once: a plugin's class is imported through its entry point
            from aigw.providers import base

            cls = self._provider_classes[name] = base.provider_class(settings.type or name)
        provider = cls(name, settings, self.client, clock=self.clock)
        provider.events = self.bus
        return provider

    def substitute(self, options: RunOptions) -> bool:
        return options.substitute if options.substitute is not None else self.settings.routing.substitute_retired

    def policy(self, options: RunOptions, default_timeout: float, started: float) -> Policy:
        routing = self.settings.routing
        return Policy(
            retries=routing.retries,
            retry_before_failover=routing.retry_before_failover,
            fallback_on_refusal=options.fallback_on_refusal,
            deadline_s=options.deadline_s if options.deadline_s is not None else routing.deadline,
            attempt_timeout_s=options.timeout_s or default_timeout,
            started=started,
            ignore_circuits=options.ignore_circuits,
        )

    # ---- the public API ----------------------------------------------------------------------------

    def plan(self, request: Request, options: RunOptions, *, display_name: str | None = None) -> Plan[Any]:
        """Everything decided before a request is sent (what --dry-run shows): raises on bad input
        (exit 2), on --max-cost and budgets (exit 6) unless the result cache holds the request's
        result (which costs nothing); sends nothing. `display_name` is how an
        audio file is named in messages and the log ("<stdin>" for piped audio)."""
        planned = self._planned(request, options, display_name)
        if not options.dry_run and cache.lookup(self, planned, options).has_entry():
            planned.expects_hit = True  # costs nothing: not refused by --max-cost or a budget
            return planned
        plan = enforce_costs(self, planned, options, self.log)
        if options.dry_run and isinstance(plan.kind, AudioKind):
            from aigw.engine.chunks import fit_forecast

            forecast = fit_forecast(self, plan, options)
            if forecast:  # what a real run would do to the file, said before anything is decoded
                self.notice("info", forecast)
        return plan

    def _planned(self, request: Request, options: RunOptions, display_name: str | None) -> Plan[Any]:
        """The plan before cost limits: what a cache hit is looked up against (it costs nothing)."""
        if isinstance(request, TranscribeRequest):
            kind: Any = AudioKind()
            job: Any = audio_job(request, display_name)  # the file is checked before the log opens
        else:
            kind, job = ImageKind(), request
        plan = plan_groups(self, kind.requested(job), options, self.log,
                           lambda model_id, primary: kind.group(self, job, options, model_id, primary))
        return plan_of(kind, job, plan)

    async def run(self, request: Request | Plan[Any], options: RunOptions, *, output: str | None = None,
                  display_name: str | None = None, run_id: str | None = None) -> Served:
        """Run a request (or a plan from `plan`): returns the served result, for a transcription
        with the transcript in the asked format. `output` (-o) is the first fallback place when the
        cache cannot take the result. `run_id`: the id to log the run under, when the caller
        recorded it before (a batch item, so that a resume after a crash finds the run). Raises
        the run's error (its exit_code, run_id, attempts)."""
        started = self.clock.monotonic()
        plan = request if isinstance(request, Plan) else self._planned(request, options, display_name)
        cached = cache.lookup(self, plan, options)
        hit = cached.serve(run_id)  # a cached result costs nothing: looked up before --max-cost and budgets
        if hit is not None:
            return hit
        if not isinstance(request, Plan) or plan.expects_hit:  # a plan's costs were checked when it was made
            plan = enforce_costs(self, plan, options, self.log)
        if not plan.items:
            raise errors.UsageError("nothing to run: no candidate in the plan has a key")
        if isinstance(plan.kind, AudioKind):
            from aigw.engine.chunks import over_limits, run_long

            limits = over_limits(self, plan, options)
            if limits is not None:  # re-encoded, and if need be sent in chunks, as requests of one run
                served = await run_long(self, plan, options, limits, output=output, started=started)
                cached.keep(served)
                return served
        served = await run_plan(self, plan, options, output=output, started=started, run_id=run_id)
        cached.keep(served)
        return served

    def record_delivery_failure(self, run_id: str, *, exit_code: int, error: str) -> None:
        """A served run's result did not reach where it was asked for (exit 7): the run log says
        so. Raises RunLogError when the log cannot record it. Callable after the engine closed
        (the CLI delivers after the run): the log is then opened for this write only."""
        try:
            self.bus.emit(DeliveryFailed(run_id, error, exit_code))
        finally:
            if not self._open and self._log is not None:
                log, self._log = self._log, None
                log.really_close()


def open_engine(loaded: Loaded, catalog: Catalog, cache_dir: Path, *, clock: Clock | None = None,
                transport: httpx.AsyncBaseTransport | None = None, events: EventSink = no_events,
                rng: random.Random | None = None) -> Engine:
    """The engine, to use as `async with open_engine(...) as engine:` (it closes its client and log)."""
    return Engine(loaded, catalog, cache_dir, clock=clock, transport=transport, events=events, rng=rng)
