"""What a --model value names: a catalog id, or a provider's own id written PROVIDER/MODEL."""

from __future__ import annotations

from datetime import date

from typing import TYPE_CHECKING, Any, Protocol

from aigw.catalog.schema import Limits, Model, Offer, Price

if TYPE_CHECKING:
    from aigw.catalog import Catalog


class Context(Protocol):
    """What resolving a model needs: the settings and the catalog (the engine has both)."""

    @property
    def settings(self) -> Any: ...
    @property
    def catalog(self) -> Catalog: ...

ALL_TRANSCRIPT_FORMATS = ["json", "text", "srt", "vtt", "verbose_json"]


def provider_prefix(ctx: Context, model_id: str) -> tuple[str, str] | None:
    from aigw import plugins

    if "/" not in model_id or model_id in ctx.catalog.models:
        return None
    provider, rest = model_id.split("/", 1)
    if provider in plugins.providers() or provider in ctx.settings.providers:
        return provider, rest
    return None


def resolve(ctx: Context, model_id: str, kind: str) -> Model:
    """PROVIDER/MODEL reaches any model a provider serves, priced from the catalog when a catalog
    entry maps that provider id, else unknown (never $0). local/<name or path> is free."""
    ref = provider_prefix(ctx, model_id)
    if ref is None:
        if model_id not in ctx.catalog.models:
            alias = gateway_alias(ctx, model_id, kind)
            if alias is not None:
                return alias
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
                 limits=Limits(n_max=10), providers={provider: Offer(model=upstream, price=price)})


def gateway_alias(ctx: Context, model_id: str, kind: str) -> Model | None:
    """An id the catalog does not know that an OpenAI-compatible provider's `models` lists (a
    gateway's own alias, e.g. a LiteLLM or Portkey model group `img-failover`): a model of the kind
    the command asks for, served by every such provider that lists it, unpriced unless that
    provider's `prices` names it."""
    from aigw import plugins
    from aigw.router.candidates import priced_by_config, provider_type

    registered = plugins.providers()
    offers: dict[str, Offer] = {}
    for name, p in ctx.settings.providers.items():
        if name in registered or provider_type(name, p) not in plugins.PROTOCOL_TYPES or not p.models:
            continue
        upstream = p.models.get(model_id) if isinstance(p.models, dict) else (model_id if model_id in p.models else None)
        if upstream is not None:
            offers[name] = priced_by_config(Offer(model=upstream), p, model_id)
    if not offers:
        return None
    return Model(id=model_id, kind=kind, description=f"{model_id} as {', '.join(offers)} name it",  # type: ignore[arg-type]
                 open_params=True, formats=ALL_TRANSCRIPT_FORMATS if kind == "audio" else [],
                 limits=Limits(n_max=10), providers=offers)
