"""Generate images: validate, plan candidates, estimate, route, save every image, log the run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from aigw.catalog import pricing
from aigw.catalog.schema import Model
from aigw.errors import UsageError
from aigw.services import image_params, model_ref, presets
from aigw.services.context import Context, RunOptions
from aigw.services.image_params import default_size
from aigw.services.planning import Plan, Planned, candidates_for, enforce_costs, execute, plan_groups, prepared, \
    settle_refusals
from aigw.services.results import Keeper
from aigw.store import RunLog, provenance
from aigw.types import ImageCall, ImageParams, ImageRequest, ProviderImages, RunResult

DEFAULT_IMAGE_TIMEOUT_S = 300.0


def split_style(model: Model, style: str | None) -> tuple[str | None, str | None]:
    """(a style the model offers, a preset to append to the prompt)."""
    if style is None or style in model.styles or model.open_params:
        return style, None
    if style in presets.STYLE_PRESETS:
        return None, style
    offered = [*model.styles, *presets.STYLE_PRESETS]
    raise UsageError(f"{model.id} does not offer style {style}", hint="allowed: " + ", ".join(offered))


def _group(ctx: Context, req: ImageRequest, options: RunOptions, model_id: str, primary: bool) -> list[Planned[ImageCall]]:
    model = model_ref.resolve(ctx, model_id, "image")
    model_style, preset = split_style(model, req.style)
    if primary:
        image_params.validate(model, prompt=req.prompt, size=req.size, quality=req.quality,
                              style=model_style, n=req.n, fmt=req.format)
    prompt = presets.apply(req.prompt, preset=preset, enhancers=req.enhancers)
    cands = candidates_for(ctx, model, options)
    planned: list[Planned[ImageCall]] = []
    refusals: list[UsageError] = []
    for cand, configured in cands:
        params: dict[str, Any] = {**req.model_dump(include=set(ImageParams.model_fields)), "style": model_style}
        if cand.substitution is not None or not primary:
            # Carry what the requested model would have used, defaults included: a DALL-E 3 request
            # with no size or quality means 1024x1024 standard, not the successor's "auto".
            # A ratio with no size is mapped onto the successor's own sizes, not the old default's shape.
            size = req.size or (None if req.aspect_ratio else default_size(model))
            carried, warnings = image_params.carry_over(
                model, cand.model, size=size, quality=req.quality or _fixed_default(model),
                style=model_style, n=req.n, fmt=req.format)
            # A value the user did not give is the requested model's default: say so.
            cand.warnings = [f"{model.id}'s default {w}" if (w.startswith("quality ") and req.quality is None)
                             or (w.startswith("size ") and req.size is None) else w for w in warnings]
            params.update(carried)
        call = ImageCall(provider_model=cand.provider_model, prompt=prompt, **params)
        mapped = prepared(ctx, cand, _preparer(ctx.planning_provider(cand.provider), cand.model), call, refusals)
        if mapped is None:
            continue
        call = mapped
        estimate = pricing.estimate_image(cand.model, cand.offer, size=call.size or default_size(cand.model),
                                          quality=call.quality, n=call.n, prompt=prompt)
        planned.append(Planned(cand, call, estimate, configured=configured))
    settle_refusals(ctx, planned, refusals)
    return planned


def _preparer(provider: Any, model: Model) -> Callable[[ImageCall], tuple[ImageCall, list[str]]]:
    """The provider's own mapping; for one that takes sizes only, --aspect-ratio first becomes the
    model's nearest size (the catalog knows the model's sizes, the provider does not)."""
    def prepare(call: ImageCall) -> tuple[ImageCall, list[str]]:
        notes: list[str] = []
        if getattr(provider, "ratio_as_size", False):
            call, notes = image_params.ratio_to_size(model, call)
            notes = [f"{provider.name}: {note}" for note in notes]
        call, more = provider.prepare_image(call)
        return call, [*notes, *more]
    return prepare


def _fixed_default(model: Model) -> str | None:
    quality = pricing.default_quality(model)
    return None if quality == "auto" else quality


def plan_image(ctx: Context, req: ImageRequest, options: RunOptions, log: RunLog | None = None) -> Plan[ImageCall]:
    """Everything decided before a request is sent: raises on bad input, sends nothing."""
    return plan_groups(ctx, req.model, options, log, lambda model_id, primary: _group(ctx, req, options, model_id, primary))


def substitution_notice(p: Planned[ImageCall], req: ImageRequest) -> str:
    sub = p.candidate.substitution
    assert sub is not None
    original = p.candidate.requested
    offer = original.providers.get(sub.provider)
    before = pricing.estimate_image(original, offer, size=req.size or default_size(original), quality=req.quality,
                                    n=req.n, prompt=req.prompt) if offer else None
    diff = ""
    if before and before.usd is not None and p.estimate.usd is not None:
        delta = p.estimate.usd - before.usd
        diff = (f"; price {pricing.format_usd(before.usd)} -> {pricing.format_usd(p.estimate.usd)}"
                f" ({'+' if delta >= 0 else '-'}${abs(delta):.4f})")
    elif p.estimate.usd is None:
        diff = "; the substitute's price is unknown"
    via = " -> ".join(sub.chain)
    return (f"{sub.requested} was retired by {sub.provider} on {sub.retired:%Y-%m-%d}; "
            f"{sub.served} serves instead ({via}){diff}")


async def generate(ctx: Context, req: ImageRequest, options: RunOptions, *,
                   output: str | None = None) -> RunResult | Plan[ImageCall]:
    """Returns the run's record, or with --dry-run the plan (nothing sent, nothing logged).
    `output` (-o) is the first fallback place when the cache cannot take the images."""
    log = ctx.open_log()
    kept: list[Keeper] = []
    try:
        plan = plan_image(ctx, req, options, log)
        plan = enforce_costs(ctx, plan, options, log)
        if options.dry_run:
            return plan
        return await _run(ctx, req, options, plan, log, output, kept)
    except BaseException:
        for keeper in kept:  # paid for before something else failed: still kept
            keeper.salvage(output, add_suffix=True)
        raise
    finally:
        log.close()


async def _run(ctx: Context, req: ImageRequest, options: RunOptions, plan: Plan[ImageCall], log: RunLog,
               output: str | None, kept: list[Keeper]) -> RunResult:

    async def invoke(item: Planned[ImageCall], client: httpx.AsyncClient, timeout: float, run_id: str,
                     created: Any) -> ProviderImages:
        provider = ctx.live_provider(item.candidate.provider, client, log, run_id)
        result = await provider.generate(item.call, timeout=timeout)
        # Paid for: on disk before anything else can fail, and in the log in one commit with the
        # attempt and the run's end (the order is explained in services/results.py).
        kept.append(Keeper(ctx, log, run_id, created))
        kept[-1].stage([(image.data, image.ext) for image in result.images], provenance=provenance.image_fields(
            run_id=run_id, model=item.candidate.model.id, provider=item.candidate.provider, call=item.call,
            cost_usd=pricing.actual_image(item.candidate.offer, result.usage, item.estimate)))
        for warning in result.warnings:
            ctx.notify("warning: " + warning)
        return result

    outcome, run_id, created = await execute(
        ctx, log, plan, options, kind="image", request=req.model_dump(mode="json"),
        default_timeout=DEFAULT_IMAGE_TIMEOUT_S, invoke=invoke,
        actual_cost=lambda item, value: pricing.actual_image(item.candidate.offer, value.usage, item.estimate),
        sizes_of=lambda v: (v.bytes_up, v.bytes_down, v.http_status),
        announce=lambda item: substitution_notice(item, req) if item.candidate.substitution else None)
    cand = outcome.candidate
    item = next(p for p in plan.items if p.candidate is cand)
    served = outcome.attempts[-1]
    result = RunResult(
        id=run_id, kind="image", requested_model=req.model, model=cand.model.id, provider=cand.provider,
        provider_model=cand.provider_model, paths=[str(p.final) for p in kept[-1].pending],
        cost_usd=served.actual_cost_usd,
        estimated_cost_usd=item.estimate.usd, cost_as_of=item.estimate.as_of,
        cost_assumptions=item.estimate.assumptions,
        latency_ms=round((ctx.clock.now() - created).total_seconds() * 1000, 1), created_at=created,
        attempts=outcome.attempts, warnings=cand.warnings, substituted=cand.substitution is not None,
        prompt=req.prompt, size=item.call.size, quality=item.call.quality,
        revised_prompt=next((i.revised_prompt for i in outcome.value.images if i.revised_prompt), None),
    )
    kept[-1].finish(result, output, add_suffix=True)
    return result
