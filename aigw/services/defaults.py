"""The model used when none is given: the configured default, else the first model in the catalog's
`default_order` that a configured provider can serve now."""

from __future__ import annotations

from aigw import errors
from aigw.router import candidates as plan
from aigw.services.model_ref import Context


def local_model_id(ctx: Context) -> str | None:
    """`local/<name or path>` when providers.local.model names the model for this machine."""
    configured = ctx.settings.provider("local").option("model")
    return f"local/{configured}" if configured else None


def default_model(ctx: Context, kind: str, *, providers: tuple[str, ...] | list[str] = (),
                  dry_run: bool = False) -> str:
    """With `-p NAME` (repeatable): the configured default if one of them serves it, else the first
    provider's own default (catalog `provider_defaults`), else the first of `default_order` it
    serves. A dry run with no key at all plans the first of `default_order`."""
    configured = ctx.settings.defaults.image_model if kind == "image" else ctx.settings.defaults.audio_model
    if providers:
        return _for_providers(ctx, kind, list(providers), configured)
    if configured:
        return str(configured)
    try:
        return _first_served(ctx, kind)
    except errors.MissingKeyError:
        if dry_run and ctx.catalog.default_order.get(kind):
            return ctx.catalog.default_order[kind][0]
        raise


def _local_default(ctx: Context) -> str | None:
    """providers.local.model, else the first of default_order whose faster-whisper model is here."""
    local = local_model_id(ctx)
    if local:
        return local
    for model_id in ctx.catalog.default_order.get("audio", []):
        offer = ctx.catalog.require(model_id, "audio").providers.get("local")
        if offer and plan.local_model_present(offer.model):
            return model_id
    return None


def _serves(ctx: Context, model_id: str, kind: str, name: str) -> bool:
    model = ctx.catalog.get(model_id)
    if model is None or model.kind != kind:
        return False
    return plan.offer_for(ctx.catalog, model, name, ctx.settings.provider(name)) is not None


def _for_providers(ctx: Context, kind: str, names: list[str], configured: str | None) -> str:
    plan.check_provider_names(ctx.settings, names)
    if configured and any(_serves(ctx, str(configured), kind, n) for n in names):
        return str(configured)
    for name in names:
        if name == "local":
            found = _local_default(ctx) if kind == "audio" else None
            if found:
                return found
            continue
        own = ctx.catalog.provider_defaults.get(name, {}).get(kind)
        if own and _serves(ctx, own, kind, name):
            return own
        for model_id in ctx.catalog.default_order.get(kind, []):
            if _serves(ctx, model_id, kind, name):
                return model_id
    who = f"{' or '.join(names)} serve{'s' if len(names) == 1 else ''}"
    if not any(_serves(ctx, m.id, kind, n) for m in ctx.catalog.of_kind(kind) for n in names if n != "local"):
        mappable = [n for n in names if any(n in m.providers for m in ctx.catalog.of_kind(kind))]
        if mappable:  # azure deployments, runpod endpoints: served once named
            example = next(m.id for m in ctx.catalog.of_kind(kind) if mappable[0] in m.providers)
            raise errors.UsageError(
                f"{who} no {kind} model yet: it serves the deployments or endpoints you name in "
                f"providers.{mappable[0]}.models",
                hint=f"""aigw config set providers.{mappable[0]}.models '{{"{example}" = "<yours>"}}'""")
        raise errors.UsageError(f"{who} no {kind} model",
                                hint=f"'aigw models --kind {kind}' lists the {kind} models and who serves them")
    raise errors.UsageError(f"{who} no {kind} model aigw knows by default",
                            hint=f"name one with -m; 'aigw models --kind {kind} --provider {names[0]}' lists them")


def _first_served(ctx: Context, kind: str) -> str:
    providers = plan.configured_providers(ctx.settings)
    cloud = [(n, p) for n, p in providers if plan.provider_type(n, p) != "local"]
    for model_id in ctx.catalog.default_order.get(kind, []):
        model = ctx.catalog.require(model_id, kind)
        if any(plan.offer_for(ctx.catalog, model, n, p) for n, p in cloud):
            return model_id
    if kind == "audio" and any(plan.provider_type(n, p) == "local" for n, p in providers):
        found = _local_default(ctx)
        if found:
            return found
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
