"""A request's plan, before anything is sent: the models to try (requested, then fallbacks), each
model's candidates mapped by their provider and ordered by the routing strategy, their estimates,
then --max-cost and the budgets. The same for every request kind; the kind (aigw/engine/kinds.py)
builds one model's group."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timezone
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from aigw import errors
from aigw.catalog.pricing import format_usd, usd_text
from aigw.router import strategy
from aigw.router.candidates import Candidate, key_hint
from aigw.types import Attempt, CostEstimate

if TYPE_CHECKING:
    from aigw.engine.core import Engine
    from aigw.engine.kinds import Kind
    from aigw.store import RunLog

C = TypeVar("C")  # the provider call (ImageCall or TranscribeCall)


@dataclass(frozen=True)
class ChunkOptions:
    """How a long recording is sent (aigw/engine/chunks.py)."""

    concurrency: int | None = None      # --concurrency: chunks in flight at once
    resume: bool = False                # --resume: reuse the finished chunks of an interrupted run
    chunk_seconds: float | None = None  # --chunk-seconds: at most this much audio per request


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
    cache: bool | None = None  # --cache (True), --no-cache (False), else as configured (cache.*)
    refresh: bool = False  # --refresh: a cached result is not served; the run replaces it
    chunking: ChunkOptions = ChunkOptions()


@dataclass
class Planned(Generic[C]):
    candidate: Candidate
    call: C
    estimate: CostEstimate
    model_group: str = ""  # the model id this candidate serves the request as (requested or fallback)
    configured: bool = True  # False: a --dry-run row for a provider with no key yet, never routed to
    provider: Any = None  # built once for this plan: it mapped the call (prepare_*) and sends it


@dataclass
class Plan(Generic[C]):
    """Everything --dry-run shows, and what Engine.run needs to send it. A plan runs once: its
    providers are built for it."""

    requested: str
    items: list[Planned[C]]
    skipped: list[str] = field(default_factory=list)  # candidates left out by --max-cost, with why
    unconfigured: list[Planned[C]] = field(default_factory=list)  # --dry-run: providers with no key yet
    kind: Kind[Any, Any, Any] | None = None  # the request kind's strategy
    job: Any = None  # the request as the kind prepared it (an audio request carries its probed upload)
    resume: Any = None  # a RecordedJob an earlier run of this request left at a provider: polled, not resubmitted
    # The result cache holds this request's result: it costs nothing, so --max-cost and the budgets
    # were not applied when it was planned; Engine.run applies them if the hit does not come after all.
    expects_hit: bool = False

    @property
    def first(self) -> Planned[C]:
        return self.items[0]


def models_to_try(engine: Engine, requested: str, options: RunOptions) -> list[str]:
    """The requested model, then `--fallback` models, else `routing.fallbacks.<model>`."""
    fallbacks = list(options.fallbacks) or list(engine.settings.routing.fallbacks.get(requested, []))
    seen: list[str] = []
    for model_id in [requested, *fallbacks]:
        if model_id not in seen:
            seen.append(model_id)
    return seen


def plan_groups(engine: Engine, requested: str, options: RunOptions, log: RunLog | None,
                build_group: Callable[[str, bool], list[Planned[C]]]) -> Plan[C]:
    """Candidates for each model in turn, each group ordered by the routing strategy; a fallback
    model no configured provider serves is left out rather than failing the whole request."""
    items: list[Planned[C]] = []
    unconfigured: list[Planned[C]] = []
    refused: errors.UsageError | None = None
    for index, model_id in enumerate(models_to_try(engine, requested, options)):
        primary = index == 0
        try:
            group = build_group(model_id, primary)
        except errors.AigwError as exc:
            if primary and not isinstance(exc, NoCandidateCanTakeIt):
                raise
            refused = refused or (exc if isinstance(exc, errors.UsageError) else None)
            if not primary:
                engine.notice("warning", f"fallback {model_id} left out: {exc.message}")
            continue
        for planned in group:
            planned.model_group = model_id
        unconfigured.extend(p for p in group if not p.configured)
        group = [p for p in group if p.configured]
        items.extend(strategy.order(
            group, strategy=engine.settings.routing.strategy, candidate=lambda p: p.candidate,
            estimate=lambda p: p.estimate.usd, history=None if log is None else log.state,
            key=model_id, advance=not options.dry_run))
    if not items and not unconfigured and refused is not None:
        raise refused
    return Plan(requested, items, unconfigured=unconfigured)


def candidates_for(engine: Engine, model: Any, options: RunOptions) -> list[tuple[Candidate, bool]]:
    """(candidate, configured): the providers that can serve the model now; with --dry-run also
    those that would serve it once given a key, so a plan needs no key at all."""
    from aigw.router import candidates as plan_candidates

    only = list(options.providers) or None
    substitute = engine.substitute(options)
    try:
        found = _built(engine, model, substitute, only) if not options.dry_run else \
            plan_candidates.build(engine.catalog, engine.settings, model, substitute=substitute, only=only)
    except (errors.ConfigError, errors.UsageError):  # no key, no mapped endpoint, model not on this machine
        if not options.dry_run:
            raise
        extra = plan_candidates.without_key(engine.catalog, engine.settings, model, substitute=substitute, only=only)
        if not extra:
            raise
        return [(c, False) for c in extra]
    if not options.dry_run:
        return [(c, True) for c in found]
    extra = plan_candidates.without_key(engine.catalog, engine.settings, model, substitute=substitute, only=only)
    return [(c, True) for c in found] + [(c, False) for c in extra]


MEMO_MAX = 256  # (model, --provider, substitute) shapes kept per engine; a batch of many models starts over


def _built(engine: Engine, model: Any, substitute: bool, only: list[str] | None) -> list[Candidate]:
    """plan_candidates.build, remembered on the engine for a model whose candidates can only change
    with the settings and the catalog (which an engine holds for its life): every run of a batch
    or a session asks the same question. Each call gets its own Candidate objects (a plan adds its
    warnings to them). Not remembered: a model a local-type provider offers (whether its weights
    are on this machine can change at any moment), prices from the config (a dated price rule
    changes with the day), `PROVIDER/MODEL` (a model object made for one request), and failures."""
    from aigw.router import candidates as plan_candidates

    settings, memo = engine.settings, engine.candidates_memo
    key = (model.id, substitute, tuple(only or ()))
    kept = memo.get(key)
    if kept is not None and kept[0] is settings and kept[1] is model:
        return [_fresh(c) for c in kept[2]]
    found = plan_candidates.build(engine.catalog, settings, model, substitute=substitute, only=only)
    if _memoisable(settings, model):
        if len(memo) >= MEMO_MAX:
            memo.clear()
        memo[key] = (settings, model, [_fresh(c) for c in found])
    return found


def _memoisable(settings: Any, model: Any) -> bool:
    from aigw.router.candidates import provider_type

    if model.open_params or any(p.prices for p in settings.providers.values()):
        return False
    return not any(provider_type(name, settings.provider(name)) == "local" for name in model.providers)


def _fresh(c: Candidate) -> Candidate:
    return Candidate(c.provider, c.provider_type, c.model, c.offer, c.requested, c.substitution, list(c.warnings))


class NoCandidateCanTakeIt(errors.UsageError):
    """Every provider of a model refused the request's parameters before anything was sent."""


def prepared(cand: Candidate, prepare: Callable[[Any], tuple[C, list[str]]],
             call: C, refusals: list[errors.UsageError]) -> C | None:
    """A provider's own mapping of the call, with its warnings kept on the candidate; a provider
    that cannot take the request at all is left out (the others may), noted on stderr."""
    try:
        mapped, notes = prepare(call)
    except errors.UsageError as exc:
        exc.left_out_provider = cand.provider  # type: ignore[attr-defined]
        refusals.append(exc)
        return None
    cand.warnings = [*cand.warnings, *notes]
    return mapped


def settle_refusals(engine: Engine, planned: list[Any], refusals: list[errors.UsageError]) -> None:
    """When no candidate can take the request, the first refusal is the error (exit 2), said once;
    when others can, each provider left out gets one warning."""
    if not refusals:
        return
    if not planned:
        first = refusals[0]
        raise NoCandidateCanTakeIt(first.message, hint=first.hint)
    for exc in refusals:
        provider = getattr(exc, "left_out_provider", "")
        message = exc.message.removeprefix(f"{provider}: ")
        engine.notice("warning", f"{provider} left out: {message}")


def enforce_costs(engine: Engine, plan: Plan[C], options: RunOptions, log: RunLog) -> Plan[C]:
    """--max-cost refuses (exit 6) when the first candidate's estimate is over it or unknown (unless
    --allow-unpriced), and drops later candidates that would be; budgets are checked against the log."""
    if not plan.items:  # a dry run with no key: nothing would be sent
        return plan
    first = plan.first
    if options.max_cost is not None:
        over = _over(first.estimate, options.max_cost, options.allow_unpriced)
        if over:
            raise errors.BudgetExceededError(
                f"{first.candidate.model.id} at {first.candidate.provider}: {over}",
                hint="raise --max-cost" if first.estimate.known else
                "pass --allow-unpriced to run a model with no known price under --max-cost")
        kept = []
        for item in plan.items:
            reason = _over(item.estimate, options.max_cost, options.allow_unpriced)
            if reason:
                plan.skipped.append(f"{item.candidate.provider}/{item.candidate.model.id}: {reason}")
            else:
                kept.append(item)
        plan.items = kept
    budget = engine.settings.budget
    if budget.daily_usd is None and budget.monthly_usd is None:
        return plan
    if not first.estimate.known and not options.allow_unpriced:
        raise errors.BudgetExceededError(
            f"{first.candidate.model.id} at {first.candidate.provider} has no known price, and a budget is set",
            hint="pass --allow-unpriced to spend on it anyway")
    cost = first.estimate.usd or 0.0
    now = engine.clock.now().astimezone()  # budgets count local calendar days and months, as result folders do
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for label, limit, since in (("daily", budget.daily_usd, day), ("monthly", budget.monthly_usd, day.replace(day=1))):
        if limit is None:
            continue
        spent = log.spent_since(since.astimezone(timezone.utc))  # the log holds UTC times as text
        if spent + cost > limit:
            raise errors.BudgetExceededError(
                f"the {label} budget of ${limit:g} would be exceeded: spent {usd_text(spent)}, "
                f"this run ~{format_usd(cost)}",
                hint=f"raise budget.{label}_usd with 'aigw config set budget.{label}_usd N'")
    return plan


def _over(estimate: CostEstimate, limit: float, allow_unpriced: bool) -> str | None:
    if estimate.usd is None:
        return None if allow_unpriced else "its price is unknown (--max-cost refuses unpriced models)"
    if estimate.usd > limit:
        return f"estimated {format_usd(estimate.usd)} is over --max-cost ${limit:g}"
    return None


def estimate_line(est: CostEstimate, cand: Candidate) -> str:
    if est.usd is None:
        return f"estimated cost: unknown ({cand.model.id} at {cand.provider} has no known price)"
    if est.usd == 0 and not est.assumptions:  # not "$0 (free) (... at local, free, prices as of ...)"
        return f"estimated cost: $0 (free: {cand.model.id} at {cand.provider})"
    when = f", prices as of {est.as_of:%Y-%m-%d}" if est.as_of else ""
    extra = f"; assumes {'; '.join(est.assumptions)}" if est.assumptions else ""
    return f"estimated cost: {format_usd(est.usd)} ({cand.model.id} at {cand.provider}, {est.basis}{when}{extra})"


def plan_rows(plan: Plan[Any]) -> list[dict[str, Any]]:
    """The plan as data, for --dry-run and --json: the routed candidates in hop order, then those
    that serve the model but have no key yet (no hop, and how to add the key)."""
    rows = [_plan_row(item, hop) for hop, item in enumerate(plan.items, start=1)]
    rows += [_plan_row(item, None) for item in plan.unconfigured]
    return rows


def _plan_row(item: Planned[Any], hop: int | None) -> dict[str, Any]:
    cand, est = item.candidate, item.estimate
    return {
        "hop": hop, "provider": cand.provider, "model": cand.model.id, "provider_model": cand.provider_model,
        "as_model": item.model_group,
        "substituted_from": cand.substitution.requested if cand.substitution else None,
        "estimated_cost_usd": est.usd, "cost_basis": est.basis,
        "price_as_of": est.as_of.isoformat() if est.as_of else None, "assumptions": est.assumptions,
        "warnings": cand.warnings, "configured": hop is not None,
        # The same keys in every row: how to add the key, for a candidate that has none yet.
        "key_hint": None if hop is not None else key_hint(cand.provider),
    }


def possibly_billed_note(attempts: list[Attempt]) -> str:
    """'a timed-out attempt at X may be billed ~$0.04' for each attempt that timed out after sending."""
    return "; ".join(f"a timed-out attempt at {a.provider} may be billed "
                     f"{'~' + format_usd(a.estimated_cost_usd) if a.estimated_cost_usd is not None else '(price unknown)'}"
                     for a in attempts)
