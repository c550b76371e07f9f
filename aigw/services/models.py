"""Rows for `aigw models`: the catalog joined with what is configured now, circuits and checks."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from aigw.catalog import pricing
from aigw.catalog.schema import Model, Offer
from aigw.router import candidates as plan
from aigw.engine import Engine
from aigw.transcripts.formats import deliverable


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
    if model.kind == "audio":
        if p.per_gpu_second is not None and p.estimate_gpu_seconds is not None:
            per_min = p.per_gpu_second * p.estimate_gpu_seconds * 60  # GPU seconds per second of audio
            return f"~{pricing.usd_text(per_min)}/min"
        return None
    est = pricing.estimate_image(model, offer, size="1024x1024" if "1024x1024" in model.sizes else None,
                                 quality=None, n=1, prompt="")
    return f"~{pricing.format_usd(est.usd)}/image" if est.usd is not None else None


def _circuits(engine: Engine) -> dict[str, tuple[str, str]]:
    """Providers whose circuit is not closed -> ("open" or "half-open", when the cooldown ends as
    ISO time). Half-open: the cooldown has passed and the next request is a trial."""
    now = engine.clock.now().timestamp()
    return {c.provider: ("open" if c.open_until > now else "half-open",
                         datetime.fromtimestamp(c.open_until, tz=timezone.utc).isoformat(timespec="seconds"))
            for c in engine.log.state.circuits() if c.open_until is not None}


def _offers(engine: Engine, model: Model, configured: dict[str, Any]) -> list[tuple[str, Offer, bool]]:
    """(provider, offer, configured) for every catalog offer and every configured gateway serving it."""
    out: list[tuple[str, Offer, bool]] = []
    for name, offer in model.providers.items():
        mine = plan.offer_for(engine.catalog, model, name, configured[name]) if name in configured else None
        out.append((name, mine or offer, mine is not None))
    for name, p in configured.items():
        if name not in model.providers:
            extra = plan.offer_for(engine.catalog, model, name, p)
            if extra is not None:
                out.append((name, extra, True))
    return out


def list_models(engine: Engine, *, available: bool, kind: str | None, provider: str | None) -> list[dict[str, Any]]:
    if provider:
        plan.check_provider_names(engine.settings, [provider])
    configured = dict(plan.configured_providers(engine.settings))
    circuits = _circuits(engine) if engine.has_log() else {}
    substitute = engine.settings.routing.substitute_retired
    rows = []
    for model in engine.catalog.models.values():
        if kind and model.kind != kind:
            continue
        providers = []
        for name, offer, usable in _offers(engine, model, configured):
            if usable and name == "local" and not plan.local_model_present(offer.model):
                usable = False
            providers.append({
                "name": name, "model": offer.model, "configured": usable,
                "retired": offer.retired.isoformat() if offer.retired else None, "successor": offer.successor,
                "price": price_text(model, offer), "price_as_of": offer.price.as_of.isoformat() if offer.price else None,
                "circuit": circuits.get(name, ("closed", None))[0],
                "circuit_open_until": circuits.get(name, ("closed", None))[1],
            })
        if provider and provider not in {p["name"] for p in providers}:
            continue
        # Served now: configured, not retired (or substituted), and its circuit not open.
        serving = [p for p in providers if p["configured"] and (not p["retired"] or substitute)
                   and p["circuit"] != "open"]
        if available and not serving:
            continue
        # What --format takes: for audio, what aigw can deliver from the model's answers.
        formats = deliverable(model.formats) if model.kind == "audio" else list(model.formats)
        rows.append({
            "id": model.id, "kind": model.kind, "description": model.description, "providers": providers,
            "price": _row_price(providers), "sizes": model.sizes,
            "qualities": model.qualities, "styles": model.styles, "formats": formats,
            "typical_latency_s": model.typical_latency_s,
            "retired": bool(model.providers) and all(o.retired for o in model.providers.values()),
        })
    return rows


def _row_price(providers: list[dict[str, Any]]) -> str | None:
    """The price at the provider that would serve the model: the first configured one, this machine
    last (as routing orders it); with none configured, the first cloud price. "free" only when the
    provider that would serve it is free, never because another one is."""
    def order(p: dict[str, Any]) -> tuple[bool, bool]:
        return (not p["configured"], p["name"] == "local")

    ranked = sorted([p for p in providers if not p["retired"]] or providers, key=order)
    serving = next((p for p in ranked if p["configured"]), None)
    if serving is not None:
        return serving["price"]
    return next((p["price"] for p in ranked if p["price"] and p["price"] != "free"), None) or next(
        (p["price"] for p in ranked if p["price"]), None)


async def check_providers(engine: Engine, *, only: str | None = None, timeout: float = 10.0) -> list[dict[str, Any]]:
    """One cheap authenticated request per configured provider, concurrently."""
    if only:
        plan.check_provider_names(engine.settings, [only])
    names = [n for n, _ in plan.configured_providers(engine.settings) if only in (None, n)]
    async def one(name: str) -> dict[str, Any]:
        from aigw.errors import AigwError

        provider = engine.provider(name)
        try:
            found = await provider.check(timeout=timeout)
        except AigwError as exc:
            found = {"reachable": None, "key_accepted": None, "latency_ms": None, "detail": exc.message}
        return {"provider": name, **found}

    results = list(await asyncio.gather(*(one(n) for n in names)))
    _close_healthy(engine, results)
    return results


def _close_healthy(engine: Engine, results: list[dict[str, Any]]) -> None:
    """A provider the check found reachable with its key accepted is healthy: close its circuit,
    so the next request goes there rather than waiting out the cooldown."""
    healthy = [r for r in results if r["reachable"] is True and r["key_accepted"] is not False]
    if not healthy or not engine.has_log():
        return
    state = engine.log.state
    for r in healthy:
        circuit = state.circuit(r["provider"])
        if circuit.failures or circuit.open_until is not None:
            state.record_success(r["provider"])
            r["circuit_closed"] = True
