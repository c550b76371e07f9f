"""The model catalog: loaded lazily from models.toml, validated once, looked up by id."""

from __future__ import annotations

import difflib
import sys
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from aigw.errors import UsageError

if TYPE_CHECKING:
    from aigw.catalog.schema import Model

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class Catalog:
    def __init__(self, models: list[Model], default_order: dict[str, list[str]] | None = None) -> None:
        self.models = {m.id: m for m in models}
        self.default_order = default_order or {}

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
            providers = {name: {k: v for k, v in offer.items() if k != "model"} for name, offer in base["providers"].items()}
            for name, offer in entry.get("providers", {}).items():
                providers[name] = {**providers.get(name, {}), **offer}
            out.update({k: v for k, v in entry.items() if k not in ("extends", "providers")})
            out["providers"] = providers
        for name, offer in out.get("providers", {}).items():
            offer.setdefault("model", out["id"])
        done[entry["id"]] = out
        return out

    return [resolve(e) for e in raw]


def parse(text: str) -> Catalog:
    from aigw.catalog.schema import Model

    data = tomllib.loads(text)
    models = [Model.model_validate(entry) for entry in _resolve_extends(data.get("model", []))]
    return Catalog(models, data.get("default_order", {}))


@lru_cache(maxsize=1)
def load() -> Catalog:
    text = resources.files("aigw.catalog").joinpath("models.toml").read_text(encoding="utf-8")
    catalog = parse(text)
    for model in catalog.models.values():
        for offer in model.providers.values():
            if offer.successor and offer.successor not in catalog.models:
                raise ValueError(f"{model.id}: successor '{offer.successor}' is not in the catalog")
    for kind, ids in catalog.default_order.items():
        for model_id in ids:
            if catalog.require(model_id).kind != kind:
                raise ValueError(f"default_order.{kind}: {model_id} is not an {kind} model")
    return catalog
