"""The model used when none is given: the configured default, else the first model in the catalog's
`default_order` that a configured provider can serve now."""

from __future__ import annotations

from aigw import errors
from aigw.router import candidates as plan
from aigw.services.context import Context


def local_model_id(ctx: Context) -> str | None:
    """`local/<name or path>` when providers.local.model names the model for this machine."""
    configured = ctx.settings.provider("local").model
    return f"local/{configured}" if configured else None


def default_model(ctx: Context, kind: str) -> str:
    configured = ctx.settings.defaults.image_model if kind == "image" else ctx.settings.defaults.audio_model
    if configured:
        return str(configured)
    providers = plan.configured_providers(ctx.settings)
    cloud = [(n, p) for n, p in providers if plan.provider_type(n, p) != "local"]
    for model_id in ctx.catalog.default_order.get(kind, []):
        model = ctx.catalog.require(model_id, kind)
        if any(plan.offer_for(ctx.catalog, model, n, p) for n, p in cloud):
            return model_id
    if kind == "audio" and any(plan.provider_type(n, p) == "local" for n, p in providers):
        local = local_model_id(ctx)
        if local:
            return local
        for model_id in ctx.catalog.default_order.get(kind, []):
            model = ctx.catalog.require(model_id, kind)
            offer = model.providers.get("local")
            if offer and plan.local_model_present(offer.model):
                return model_id
    if kind == "audio":
        raise errors.MissingKeyError(
            "no transcription provider is configured",
            hint="pip install 'aigw[local]' to transcribe on this machine, or set OPENAI_API_KEY",
        )
    raise errors.MissingKeyError(
        "no image provider is configured",
        hint="set a provider's key, e.g. OPENAI_API_KEY, FAL_KEY, REPLICATE_API_TOKEN or STABILITY_API_KEY "
             "(or run 'aigw config keys set NAME'); 'aigw models' lists who serves what",
    )
