"""Rows for `aigw models`: the catalog joined with what is configured now."""

from __future__ import annotations

from typing import Any

from aigw.catalog import pricing
from aigw.catalog.schema import Model, Offer
from aigw.router import candidates as plan
from aigw.services.context import Context


def price_text(model: Model, offer: Offer) -> str | None:
    p = offer.price
    if p is None:
        return None
    if p.free:
        return "free"
    if p.per_minute is not None:
        return f"${p.per_minute:g}/min"
    if p.per_second is not None:
        return f"${p.per_second:g}/s"
    est = pricing.estimate_image(model, offer, size="1024x1024" if "1024x1024" in model.sizes else None,
                                 quality=None, n=1, prompt="")
    return f"~{pricing.format_usd(est.usd)}/image" if est.usd is not None else None


def list_models(ctx: Context, *, available: bool, kind: str | None, provider: str | None) -> list[dict[str, Any]]:
    configured = dict(plan.configured_providers(ctx.settings))
    rows = []
    for model in ctx.catalog.models.values():
        if kind and model.kind != kind:
            continue
        providers = []
        for name, offer in model.providers.items():
            providers.append({"name": name, "model": offer.model, "configured": name in configured,
                              "retired": offer.retired.isoformat() if offer.retired else None,
                              "successor": offer.successor, "price": price_text(model, offer),
                              "price_as_of": offer.price.as_of.isoformat() if offer.price else None})
        for name, p in configured.items():
            if name not in model.providers and plan.offer_for(ctx.catalog, model, name, p):
                offer = plan.offer_for(ctx.catalog, model, name, p)
                providers.append({"name": name, "model": offer.model, "configured": True, "retired": None,  # type: ignore[union-attr]
                                  "successor": None, "price": price_text(model, offer), "price_as_of": None})  # type: ignore[arg-type]
        if provider and provider not in {p["name"] for p in providers}:
            continue
        usable = [p for p in providers if p["configured"] and (not p["retired"] or ctx.settings.routing.substitute_retired)]
        if available and not usable:
            continue
        if available and model.providers.get("local") and not any(p["name"] != "local" for p in usable):
            if not plan.local_model_present(model.providers["local"].model):
                continue
        first_price = next((p["price"] for p in providers if p["price"]), None)
        rows.append({
            "id": model.id, "kind": model.kind, "description": model.description, "providers": providers,
            "price": first_price, "sizes": model.sizes, "qualities": model.qualities, "styles": model.styles,
            "formats": model.formats, "typical_latency_s": model.typical_latency_s,
            "retired": all(p["retired"] for p in providers if p["name"] in model.providers) and bool(model.providers)
            and all(o.retired for o in model.providers.values()),
        })
    return rows
