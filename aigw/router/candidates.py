"""Which providers can serve a request, as which model, in what order.

A retired model goes to providers that still serve it (a gateway that lists it) as asked; a provider
that retired it gets the successor its catalog entry names, followed to a current model, with the
request's parameters carried to the successor's nearest allowed values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from aigw import errors
from aigw.catalog import Catalog
from aigw.catalog.schema import Model, Offer
from aigw.plugins import PROTOCOL_TYPES, providers as registered
from aigw.settings.model import ProviderSettings, Settings


@dataclass(frozen=True)
class Substitution:
    requested: str
    served: str
    provider: str
    retired: date
    chain: tuple[str, ...]


@dataclass
class Candidate:
    provider: str
    provider_type: str
    model: Model  # the catalog model this provider will serve
    offer: Offer
    requested: Model
    substitution: Substitution | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def provider_model(self) -> str:
        return self.offer.model


def provider_type(name: str, p: ProviderSettings) -> str:
    return p.type or name


def is_configured(name: str, p: ProviderSettings) -> bool:
    """Enabled and able to authenticate (or needing no key)."""
    if not p.enabled:
        return False
    kind = provider_type(name, p)
    if kind == "local":
        from aigw.providers.local import installed

        return installed()
    if p.api_key is not None:
        return True
    if p.auth == "none":
        return True
    spec = registered().get(kind)
    return spec is not None and not spec.needs_key and name in registered()


def configured_providers(settings: Settings) -> list[tuple[str, ProviderSettings]]:
    """Enabled providers that can be used now, by `priority` (lower first) then config order, with
    `local` after the others unless it has a priority. `local` counts as configured whenever its
    extra is installed, even with no [providers.local]."""
    names = list(settings.providers)
    if "local" not in names:
        names.append("local")
    found = [(n, settings.provider(n)) for n in names if is_configured(n, settings.provider(n))]
    order = {n: i for i, n in enumerate(names)}

    def rank(item: tuple[str, ProviderSettings]) -> tuple[int, int]:
        name, p = item
        if p.priority is not None:
            return p.priority, order[name]
        # This machine is the last resort unless told otherwise: slower than a cloud GPU, but free
        # and always up.
        return (2000 if provider_type(name, p) == "local" else 1000), order[name]

    return sorted(found, key=rank)


def gateway_offer(catalog: Catalog, model: Model, p: ProviderSettings) -> Offer | None:
    """An OpenAI-compatible provider serves exactly the models its config lists, under the
    upstream's names, retired or not; priced as the catalog prices that model elsewhere, unless
    its own `prices` say otherwise."""
    listed = p.models or []
    upstream = listed.get(model.id) if isinstance(listed, dict) else (model.id if model.id in listed else None)
    if upstream is None:
        return None
    priced = next((o.price for o in model.providers.values() if o.price is not None), None)
    return priced_by_config(Offer(model=upstream, price=priced), p, model.id)


def offer_for(catalog: Catalog, model: Model, name: str, p: ProviderSettings) -> Offer | None:
    kind = provider_type(name, p)
    offer: Offer | None
    if model.open_params:  # PROVIDER/MODEL: that provider only, as written
        offer = model.providers.get(name)
        return None if offer is None else priced_by_config(offer, p, offer.model)
    if name in model.providers and (name in registered() or kind == name):
        offer = model.providers[name]
    elif kind in PROTOCOL_TYPES and name not in registered():
        return gateway_offer(catalog, model, p)
    else:
        return None
    # A built-in provider's `models` table names its own id for a catalog model: a RunPod endpoint
    # id, an Azure deployment, a local model directory.
    mapped = p.models.get(model.id) if isinstance(p.models, dict) else None
    if mapped:
        offer = offer.model_copy(update={"model": mapped, "needs_mapping": False})  # type: ignore[union-attr]
    if offer is None or offer.needs_mapping:
        return None
    return priced_by_config(offer, p, model.id)


def priced_by_config(offer: Offer, p: ProviderSettings, key: str) -> Offer:
    """The user's `[providers.NAME.prices]` entry for this model, if any, replaces the catalog's."""
    rule = (p.prices or {}).get(key)
    if rule is None:
        return offer
    from datetime import date

    from aigw.catalog import config_price

    try:
        price = config_price(rule, today=date.today())
    except ValueError as exc:
        raise errors.ConfigError(f"providers.{key}: invalid price: {exc}",
                                 hint="a price rule is e.g. { per_image = { \"*\" = { \"*\" = 0.04 } } } or "
                                      "{ per_megapixel = 0.03 } or { per_minute = 0.006 }") from exc
    return offer.model_copy(update={"price": price})


def local_model_present(name: str) -> bool:
    from aigw.providers.local import resolve_model

    return resolve_model(name) is not None


def follow_successors(catalog: Catalog, model: Model, provider: str) -> tuple[Model, Offer, tuple[str, ...]]:
    chain = [model.id]
    current, offer = model, model.providers[provider]
    while offer.retired is not None:
        assert offer.successor is not None  # the schema guarantees it
        if offer.successor in chain:
            raise errors.ConfigError(f"catalog: successor loop at {offer.successor}")
        current = catalog.require(offer.successor)
        chain.append(current.id)
        next_offer = current.providers.get(provider)
        if next_offer is None:
            raise errors.ConfigError(f"catalog: {current.id} is not served by {provider}")
        offer = next_offer
    return current, offer, tuple(chain)


def known_providers(settings: Settings) -> list[str]:
    """Every provider name aigw knows: the built-in ones, then those the settings define."""
    return [*registered(), *(n for n in settings.providers if n not in registered())]


def check_provider_names(settings: Settings, names: list[str] | tuple[str, ...] | None) -> None:
    """--provider NAME must name a provider aigw knows (configured or not): a typo is exit 2."""
    known = known_providers(settings)
    unknown = [n for n in names or () if n not in known]
    if unknown:
        raise errors.UsageError(f"unknown provider{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}",
                                hint=f"known providers: {', '.join(known)}")


def restricted(settings: Settings, only: list[str] | None) -> list[tuple[str, ProviderSettings]]:
    """The configured providers, or with --provider A --provider B only those, in that order."""
    found = configured_providers(settings)
    if not only:
        return found
    check_provider_names(settings, only)
    return sorted((item for item in found if item[0] in only), key=lambda item: only.index(item[0]))


def build(catalog: Catalog, settings: Settings, requested: Model, *, substitute: bool,
          only: list[str] | None = None) -> list[Candidate]:
    direct: list[Candidate] = []
    substituted: list[Candidate] = []
    refused: list[Substitution] = []
    for name, p in restricted(settings, only):
        cand = _candidate(catalog, requested, name, p, substitute=substitute, refused=refused)
        if cand is not None:
            (direct if cand.substitution is None else substituted).append(cand)
    # What was asked for, where it is still served, before any substitute.
    found = direct + substituted
    if not found:
        raise no_candidates(catalog, settings, requested, refused, only)
    return found


def _candidate(catalog: Catalog, requested: Model, name: str, p: ProviderSettings, *, substitute: bool,
               refused: list[Substitution]) -> Candidate | None:
    offer = offer_for(catalog, requested, name, p)
    if offer is None:
        return None
    kind = provider_type(name, p)
    if kind == "local" and not local_model_present(offer.model):
        return None
    if offer.retired is None:
        return Candidate(name, kind, requested, offer, requested)
    served, served_offer, chain = follow_successors(catalog, requested, name)
    sub = Substitution(requested.id, served.id, name, offer.retired, chain)
    if not substitute:
        refused.append(sub)
        return None
    return Candidate(name, kind, served, served_offer, requested, sub)


def without_key(catalog: Catalog, settings: Settings, requested: Model, *, substitute: bool,
                only: list[str] | None = None) -> list[Candidate]:
    """For --dry-run: the enabled providers that serve the model but have no key yet, so their
    estimates can be
    compared before signing up. Never routed to. In routing order: config sections, then the other
    built-in providers in the Providers table's order."""
    check_provider_names(settings, only)
    ordered = [*settings.providers, *(n for n in registered() if n not in settings.providers)]
    names = [n for n in ordered if n != "local" and (not only or n in only)]
    if only:
        names.sort(key=only.index)
    out = []
    for name in names:
        p = settings.provider(name)
        if not p.enabled or is_configured(name, p):
            continue
        cand = _candidate(catalog, requested, name, p, substitute=substitute, refused=[])
        if cand is not None:
            out.append(cand)
    return out


def no_candidates(catalog: Catalog, settings: Settings, requested: Model, refused: list[Substitution],
                  only: list[str] | None) -> errors.AigwError:
    if refused:
        sub = refused[0]
        return errors.RetiredModelError(
            f"{sub.requested} was retired by {sub.provider} on {sub.retired:%Y-%m-%d}; "
            f"{sub.served} would serve instead, but substitution is off",
            hint=f"use -m {sub.served}, drop --no-substitute, or add a gateway that still serves {sub.requested}",
        )
    providers = list(requested.providers)
    unmapped = [n for n, _ in configured_providers(settings)
                if n in requested.providers and requested.providers[n].needs_mapping]
    if unmapped and not only:
        name = unmapped[0]
        return errors.ConfigError(
            f"{name} serves {requested.id} only from your own endpoint, and none is mapped",
            hint=f"aigw config set providers.{name}.models '{{\"{requested.id}\" = \"ENDPOINT_ID\"}}'")
    keyless = [n for n in only or () if n != "local" and settings.provider(n).enabled
               and not is_configured(n, settings.provider(n))
               and offer_for(catalog, requested, n, settings.provider(n)) is not None]
    if keyless:  # -p fal: fal serves it but has no key yet
        return errors.MissingKeyError(f"no key for {keyless[0]}, which serves {requested.id}",
                                      hint=key_hint(keyless[0]))
    if only:
        return errors.UsageError(f"none of the providers {', '.join(only)} can serve {requested.id} now",
                                 hint=f"{requested.id} is served by: {', '.join(providers)}")
    first = providers[0]
    if first == "local":
        from aigw.providers.local import INSTALL_HINT, installed

        if not installed():
            return errors.ConfigError(f"{requested.id} runs on this machine, but faster-whisper is not installed", hint=INSTALL_HINT)
        if not settings.provider("local").enabled:
            return errors.ConfigError(f"{requested.id}: the local provider is disabled", hint="aigw config set providers.local.enabled true")
        from aigw.providers.local import missing_model_error

        offer = offer_for(catalog, requested, "local", settings.provider("local")) or requested.providers["local"]
        return missing_model_error(requested.id, offer.model)
    return errors.MissingKeyError(f"no key for {first}, which serves {requested.id}", hint=key_hint(first))


def key_hint(provider: str) -> str:
    """How to give a provider its key: its standard variable, or aigw's keys file."""
    spec = registered().get(provider)
    env = spec.env.get("api_key", ()) if spec else ()
    return (f"set {env[0].replace(':', ' + ')} or " if env else "") + f"run 'aigw config keys set {provider}'"
