"""Generate images: validate, plan candidates, estimate, route, save every image, log the run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from aigw.catalog import pricing
from aigw.router import candidates as plan
from aigw.router.candidates import Candidate
from aigw.catalog.schema import Model
from aigw.errors import UsageError
from aigw.services import image_params, model_ref, presets
from aigw.services.image_params import default_size
from aigw.services.context import Context, RunOptions, route
from aigw.services.results import save_images
from aigw.store import RunLog
from aigw.types import CostEstimate, ImageCall, ImageRequest, ProviderImages, RunResult

DEFAULT_IMAGE_TIMEOUT_S = 300.0


@dataclass
class PlannedImage:
    candidate: Candidate
    call: ImageCall
    estimate: CostEstimate


def plan_image(ctx: Context, req: ImageRequest, options: RunOptions) -> list[PlannedImage]:
    """Everything decided before a request is sent: raises on bad input, sends nothing."""
    requested = model_ref.resolve(ctx, req.model, "image")
    model_style, preset = split_style(requested, req.style)
    image_params.validate(requested, prompt=req.prompt, size=req.size, quality=req.quality,
                          style=model_style, n=req.n, fmt=req.format)
    prompt = presets.apply(req.prompt, preset=preset, enhancers=req.enhancers)
    cands = plan.build(ctx.catalog, ctx.settings, requested, substitute=ctx.substitute(options),
                       only=list(options.providers) or None)
    planned = []
    for cand in cands:
        params: dict[str, object] = {"size": req.size, "quality": req.quality, "style": model_style,
                                     "n": req.n, "format": req.format}
        if cand.substitution is not None:
            params, cand.warnings = image_params.carry_over(requested, cand.model, size=req.size, quality=req.quality,
                                                            style=model_style, n=req.n, fmt=req.format)
        call = ImageCall(provider_model=cand.provider_model, prompt=prompt, aspect_ratio=req.aspect_ratio,
                         seed=req.seed, negative_prompt=req.negative_prompt, steps=req.steps, guidance=req.guidance,
                         **params)  # type: ignore[arg-type]
        call, notes = ctx.planning_provider(cand.provider).prepare_image(call)
        cand.warnings = [*cand.warnings, *notes]
        estimate = pricing.estimate_image(cand.model, cand.offer, size=call.size or default_size(cand.model),
                                          quality=call.quality, n=call.n, prompt=prompt)
        planned.append(PlannedImage(cand, call, estimate))
    return planned


def split_style(model: Model, style: str | None) -> tuple[str | None, str | None]:
    """(a style the model offers, a preset to append to the prompt)."""
    if style is None or style in model.styles or model.open_params:
        return style, None
    if style in presets.STYLE_PRESETS:
        return None, style
    offered = [*model.styles, *presets.STYLE_PRESETS]
    raise UsageError(f"{model.id} does not offer style {style}", hint="allowed: " + ", ".join(offered))


def substitution_notice(ctx: Context, p: PlannedImage, req: ImageRequest) -> str:
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


async def generate(ctx: Context, req: ImageRequest, options: RunOptions) -> RunResult:
    planned = plan_image(ctx, req, options)
    first = planned[0]
    ctx.notify(estimate_line(first.estimate, first.candidate))
    log = ctx.open_log()
    run_id = ctx.new_run_id()
    created = ctx.clock.now()
    log.start_run(run_id, kind="image", created_at=created, requested_model=req.model,
                  request=req.model_dump(mode="json"), estimated_cost_usd=first.estimate.usd)
    try:
        return await _route_and_record(ctx, req, options, planned, log, run_id, created)
    finally:
        log.close()


async def _route_and_record(ctx: Context, req: ImageRequest, options: RunOptions, planned: list[PlannedImage],
                            log: RunLog, run_id: str, created: datetime) -> RunResult:
    by_candidate = {id(p.candidate): p for p in planned}
    saved: dict[str, list[str]] = {}
    announced: set[int] = set()

    async with ctx.http() as client:

        async def call(cand: Candidate, timeout: float) -> ProviderImages:
            p = by_candidate[id(cand)]
            if id(cand) not in announced:
                announced.add(id(cand))
                if cand.substitution is not None:
                    ctx.notify(substitution_notice(ctx, p, req))
                for warning in cand.warnings:
                    ctx.notify("warning: " + warning)
            provider = ctx.live_provider(cand.provider, client, log, run_id)
            result = await provider.generate(p.call, timeout=timeout)
            # Paid for: on disk and in the log before anything else can fail.
            saved["paths"] = save_images(ctx, log, run_id, created, result.images)
            return result

        def cost_of(cand: Candidate, value: ProviderImages | None) -> tuple[float | None, float | None]:
            est = by_candidate[id(cand)].estimate
            if value is None:
                return est.usd, None
            return est.usd, pricing.actual_image(cand.offer, value.usage, est)

        outcome = await route(ctx, log, run_id, [p.candidate for p in planned], options,
                              default_timeout=DEFAULT_IMAGE_TIMEOUT_S, call=call, cost_of=cost_of,
                              sizes_of=lambda v: (v.bytes_up, v.bytes_down, v.http_status))
    cand = outcome.candidate
    p = by_candidate[id(cand)]
    served = outcome.attempts[-1]
    result = RunResult(
        id=run_id, kind="image", requested_model=req.model, model=cand.model.id, provider=cand.provider,
        provider_model=cand.provider_model, paths=saved["paths"], cost_usd=served.actual_cost_usd,
        estimated_cost_usd=p.estimate.usd, cost_as_of=p.estimate.as_of, cost_assumptions=p.estimate.assumptions,
        latency_ms=round((ctx.clock.now() - created).total_seconds() * 1000, 1), created_at=created,
        attempts=outcome.attempts, warnings=cand.warnings, substituted=cand.substitution is not None,
        prompt=req.prompt, size=p.call.size, quality=p.call.quality,
        revised_prompt=next((i.revised_prompt for i in outcome.value.images if i.revised_prompt), None),
    )
    log.finish_run(result)
    return result


def estimate_line(est: CostEstimate, cand: Candidate) -> str:
    if est.usd is None:
        return f"estimated cost: unknown ({cand.model.id} at {cand.provider} has no known price)"
    when = f", prices as of {est.as_of:%Y-%m-%d}" if est.as_of else ""
    return f"estimated cost: {pricing.format_usd(est.usd)} ({cand.model.id} at {cand.provider}, {est.basis}{when})"
