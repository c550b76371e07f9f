"""What a --model value names: a catalog id, or a provider's own id written PROVIDER/MODEL."""

from __future__ import annotations

from datetime import date

from aigw.catalog.schema import Model, Offer, Price
from aigw.services.context import Context

ALL_TRANSCRIPT_FORMATS = ["json", "text", "srt", "vtt", "verbose_json"]


def provider_prefix(ctx: Context, model_id: str) -> tuple[str, str] | None:
    from aigw.providers.registry import BUILTIN

    if "/" not in model_id or model_id in ctx.catalog.models:
        return None
    provider, rest = model_id.split("/", 1)
    if provider in BUILTIN or provider in ctx.settings.providers:
        return provider, rest
    return None


def resolve(ctx: Context, model_id: str, kind: str) -> Model:
    """PROVIDER/MODEL reaches any model a provider serves, priced from the catalog when a catalog
    entry maps that provider id, else unknown (never $0). local/<name or path> is free."""
    ref = provider_prefix(ctx, model_id)
    if ref is None:
        return ctx.catalog.require(model_id, kind)
    provider, upstream = ref
    known = next((m for m in ctx.catalog.models.values()
                  if m.kind == kind and (o := m.providers.get(provider)) is not None and o.model == upstream), None)
    if known is not None:
        return known.model_copy(update={"id": model_id, "providers": {provider: known.providers[provider]}})
    price = None
    if provider == "local":
        price = Price(as_of=date(2026, 11, 22), source="runs on this machine", free=True)
    return Model(id=model_id, kind=kind, description=f"{upstream} at {provider}", open_params=True,  # type: ignore[arg-type]
                 formats=ALL_TRANSCRIPT_FORMATS if kind == "audio" else [],
                 limits={"n_max": 10}, providers={provider: Offer(model=upstream, price=price)})
