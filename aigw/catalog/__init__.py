"""The model catalog: loaded lazily from models.toml, validated once, looked up by id."""

from __future__ import annotations

import difflib
import sys
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from aigw.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from aigw.catalog.schema import Model

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class Catalog:
    def __init__(self, models: list[Model], default_order: dict[str, list[str]] | None = None,
                 provider_defaults: dict[str, dict[str, str]] | None = None) -> None:
        self.models = {m.id: m for m in models}
        self.default_order = default_order or {}
        # provider -> kind -> the model `-p PROVIDER` without -m uses
        self.provider_defaults = provider_defaults or {}

    def get(self, model_id: str) -> Model | None:
        return self.models.get(model_id)

    def require(self, model_id: str, kind: str | None = None) -> Model:
        model = self.models.get(model_id)
        if model is not None and (kind is None or model.kind == kind):
            return model
        pool = [m.id for m in self.models.values() if kind is None or m.kind == kind]
        close = difflib.get_close_matches(model_id, pool, n=3, cutoff=0.5)
        what = f"{kind} model" if kind else "model"
        if model is not None:
            raise UsageError(f"'{model_id}' is an {model.kind} model, not an {what}", hint="see 'aigw models --kind " + (kind or "image") + "'")
        hint = f"did you mean {', '.join(close)}?" if close else "see 'aigw models' for the ids"
        raise UsageError(f"unknown {what} '{model_id}'", hint=hint)

    def of_kind(self, kind: str) -> list[Model]:
        return [m for m in self.models.values() if m.kind == kind]


def _resolve_extends(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {entry["id"]: entry for entry in raw}
    done: dict[str, dict[str, Any]] = {}

    def resolve(entry: dict[str, Any], seen: tuple[str, ...] = ()) -> dict[str, Any]:
        if entry["id"] in done:
            return done[entry["id"]]
        base_id = entry.get("extends")
        if base_id is None:
            out = dict(entry)
        else:
            if base_id in seen or base_id not in by_id:
                raise ValueError(f"{entry['id']}: bad extends '{base_id}'")
            base = resolve(by_id[base_id], seen + (entry["id"],))
            out = {k: v for k, v in base.items() if k not in ("id", "description")}
            # Inherited offers are served under the child's own id unless it names one.
            providers = {name: {k: v for k, v in offer.items() if k != "model"} for name, offer in base.get("providers", {}).items()}
            for name, offer in entry.get("providers", {}).items():
                providers[name] = {**providers.get(name, {}), **offer}
            out.update({k: v for k, v in entry.items() if k not in ("extends", "providers")})
            out["providers"] = providers
        for name, offer in out.get("providers", {}).items():
            offer.setdefault("model", out["id"])
        done[entry["id"]] = out
        return out

    return [resolve(e) for e in raw]


def _attach_offers(models: list[dict[str, Any]], offers: list[tuple[str, dict[str, Any]]]) -> None:
    by_id = {m["id"]: m for m in models}
    for provider, offer in offers:
        target = by_id.get(offer["model"])
        if target is None:
            raise ValueError(f"offers/{provider}.toml: no model '{offer['model']}' in the catalog")
        entry = {k: v for k, v in offer.items() if k not in ("model", "provider_model")}
        entry["model"] = offer.get("provider_model", offer["model"])
        target.setdefault("providers", {})[provider] = entry


def parse(texts: list[tuple[str, str]]) -> Catalog:
    """`texts` are (provider or "", toml text): models.toml first, then one offers file per provider.
    Models nobody serves (a neutral id whose providers' files are absent) are left out."""
    from aigw.catalog.schema import Model

    raw_models: list[dict[str, Any]] = []
    offers: list[tuple[str, dict[str, Any]]] = []
    default_order: dict[str, list[str]] = {}
    provider_defaults: dict[str, dict[str, str]] = {}
    for provider, text in texts:
        data = tomllib.loads(text)
        raw_models.extend(data.get("model", []))
        offers.extend((data.get("provider", provider), o) for o in data.get("offer", []))
        default_order = default_order or data.get("default_order", {})
        provider_defaults = provider_defaults or data.get("provider_defaults", {})
    resolved = _resolve_extends(raw_models)
    _attach_offers(resolved, offers)
    models = [Model.model_validate(entry) for entry in resolved if entry.get("providers")]
    served = {m.id for m in models}
    order = {kind: [i for i in ids if i in served] for kind, ids in default_order.items()}
    by_id = {m.id: m for m in models}
    defaults = {name: {kind: i for kind, i in kinds.items() if i in by_id and name in by_id[i].providers}
                for name, kinds in provider_defaults.items()}
    return Catalog(models, order, defaults)


def _texts() -> list[tuple[str, str]]:
    root = resources.files("aigw.catalog")
    texts = [("", root.joinpath("models.toml").read_text(encoding="utf-8"))]
    offers_dir = root.joinpath("offers")
    if offers_dir.is_dir():
        for item in sorted(offers_dir.iterdir(), key=lambda p: p.name):
            if item.name.endswith(".toml"):
                texts.append((item.name[: -len(".toml")], item.read_text(encoding="utf-8")))
    return texts + plugin_texts()


def plugin_texts() -> list[tuple[str, str]]:
    """Catalog files that provider packages bring (their description's `catalog`), in the schema
    of offers/*.toml: their models and offers join aigw's and are validated the same way."""
    from pathlib import Path

    from aigw import plugins

    out = []
    for desc in plugins.providers().values():
        if desc.catalog:
            try:
                text = Path(desc.catalog).read_text(encoding="utf-8")
                tomllib.loads(text)
            except (OSError, ValueError) as exc:
                raise ValueError(f"catalog of provider {desc.name} ({desc.catalog}): {exc}") from exc
            out.append((desc.name, text))
    return out


@lru_cache(maxsize=1)
def load(kept_in: Path | None = None) -> Catalog:
    """The catalog, parsed and validated. With `kept_in` (the cache directory), the copy kept there
    when it was made from the same files (aigw/catalog/stored.py), else validated and kept there."""
    texts = _texts()
    made_under = None
    if kept_in is not None:
        from aigw.catalog import stored

        made_under = stored.key(texts)
        kept = stored.read(kept_in, made_under) if made_under else None
        if kept is not None:
            return kept
    catalog = _validated(texts)
    if kept_in is not None and made_under:
        stored.write(kept_in, made_under, catalog)
    return catalog


def _validated(texts: list[tuple[str, str]]) -> Catalog:
    catalog = parse(texts)
    for model in catalog.models.values():
        for offer in model.providers.values():
            if offer.successor and offer.successor not in catalog.models:
                raise ValueError(f"{model.id}: successor '{offer.successor}' is not in the catalog")
    for kind, ids in catalog.default_order.items():
        for model_id in ids:
            if catalog.require(model_id).kind != kind:
                raise ValueError(f"default_order.{kind}: {model_id} is not an {kind} model")
    for provider, kinds in catalog.provider_defaults.items():
        for kind, model_id in kinds.items():
            if catalog.require(model_id).kind != kind:
                raise ValueError(f"provider_defaults.{provider}.{kind}: {model_id} is not an {kind} model")
    return catalog


def config_price(rule: dict[str, Any], *, today: Any) -> Any:
    """A price rule from the user's config: dated when read unless it says when it was true."""
    from aigw.catalog.schema import Price

    return Price.model_validate({"as_of": today, "source": "config", **rule})


def with_user_models(base: Catalog, models: dict[str, dict[str, Any]], *, today: Any) -> Catalog:
    """The catalog plus the models a user's config adds (or replaces), validated like the rest."""
    if not models:
        return base
    from aigw.catalog.schema import Model

    out = dict(base.models)
    for model_id, raw in models.items():
        entry: dict[str, Any] = {k: v for k, v in raw.items() if k != "extends"}
        inherited: dict[str, Any] = {}
        if "extends" in raw:
            parent = out.get(raw["extends"])
            if parent is None:
                raise ValueError(f"models.{model_id}: extends unknown model {raw['extends']!r}")
            entry = {**parent.model_dump(exclude={"id", "providers"}), **entry}
            # The parent's offers (price, latency, retirement) carry over: a provider the entry names
            # keeps them under the id the entry gives; with no `providers`, every parent offer does.
            inherited = {name: offer.model_dump(exclude_none=True) for name, offer in parent.providers.items()}
        offers = {}
        named = entry.get("providers") or {name: {} for name in inherited}
        for name, offer in named.items():
            table: dict[str, Any] = {"model": offer} if isinstance(offer, str) else dict(offer)
            if "price" in table:
                table["price"] = config_price(table["price"], today=today)
            offers[name] = {**inherited.get(name, {}), **table}
        entry.update(id=model_id, providers=offers)
        out[model_id] = Model.model_validate(entry)
    return Catalog(list(out.values()), base.default_order, base.provider_defaults)
