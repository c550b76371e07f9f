"""The shape of aigw's settings. Unknown keys are errors, so a typo never silently does nothing."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, SerializeAsAny, create_model, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from aigw import plugins

# Settings whose value is a free-form table: any key below them is the user's, not a setting name.
FREE_FORM = frozenset({"fallbacks", "paths", "models", "headers", "prices"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ProviderSettings(_Section):
    type: str | None = None
    api_key: SecretStr | None = None
    base_url: str | None = None
    timeout: float | None = Field(default=None, gt=0)
    enabled: bool = True
    priority: int | None = None
    # OpenAI-compatible gateways (issue 4 contract)
    auth: Literal["bearer", "api-key", "none"] | None = None
    paths: dict[str, str] | None = None
    models: list[str] | dict[str, str] | None = None
    headers: dict[str, str] | None = None
    # rate limits
    rpm: int | None = Field(default=None, gt=0)
    max_concurrency: int | None = Field(default=None, gt=0)
    # Prices for this provider's models, overriding the catalog: catalog id (or, for a PROVIDER/MODEL
    # id, the provider's own id) -> a price rule as in the catalog (per_image, per_megapixel,
    # per_minute, per_gpu_second, ...). `as_of` defaults to when aigw reads it, `source` to "config".
    prices: dict[str, dict[str, Any]] | None = None
    # A provider's own fields (Azure's api_version, local's device...) come from its description:
    # [providers.NAME] is validated against settings_model(its type), a subclass adding them.

    def option(self, name: str) -> Any:
        """One of this provider's own settings (its description's `settings`), None when unset."""
        return getattr(self, name, None)


@lru_cache(maxsize=None)
def settings_model(type_name: str) -> type[ProviderSettings]:
    """ProviderSettings plus the fields the provider of this type describes; the common model for
    a type nobody registered (reported separately, by provider_type_problem)."""
    desc = plugins.get(type_name)
    if desc is None or not desc.settings:
        return ProviderSettings
    clash = set(desc.settings) & set(ProviderSettings.model_fields)
    if clash:
        raise ValueError(f"provider {type_name} redefines common settings: {', '.join(sorted(clash))}")
    fields: dict[str, Any] = {name: (kind | None, None) for name, kind in desc.settings.items()}
    model: type[ProviderSettings] = create_model(  # type: ignore[call-overload]
        f"{type_name.title().replace('-', '').replace('_', '')}ProviderSettings", __base__=ProviderSettings, **fields)
    return model


def provider_model(name: str, table: object) -> type[ProviderSettings]:
    """The model a [providers.NAME] table is validated against: its declared type's, else its name's."""
    declared = table.get("type") if isinstance(table, dict) else None
    return settings_model(plugins.type_of(name, declared if isinstance(declared, str) else None))


class Defaults(_Section):
    image_model: str | None = None
    audio_model: str | None = None
    image_format: Literal["png", "jpeg", "webp"] | None = None
    transcript_format: Literal["text", "json", "verbose_json", "srt", "vtt"] = "text"


class Breaker(_Section):
    failures: int = Field(default=5, ge=1)
    cooldown: float = Field(default=60.0, ge=0)


class Routing(_Section):
    substitute_retired: bool = True
    strategy: Literal["priority", "round-robin", "cheapest", "fastest"] = "priority"
    retries: int = Field(default=2, ge=0)
    retry_before_failover: bool = False
    deadline: float | None = Field(default=None, gt=0)
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    breaker: Breaker = Field(default_factory=Breaker)


class Budget(_Section):
    daily_usd: float | None = Field(default=None, ge=0)
    monthly_usd: float | None = Field(default=None, ge=0)


class Cache(_Section):
    """The result cache (store/cache): a repeated request answered from disk, at no cost."""

    enabled: bool = True
    # Images: sampling repeats only with a seed, so by default only seeded requests are cached.
    images: Literal["seeded", "always", "never"] = "seeded"


class Settings(BaseSettings):
    """Validated with model_validate from layers the loader merged; see settings.loader."""

    model_config = SettingsConfigDict(
        env_prefix="AIGW_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    cache_dir: Path | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    routing: Routing = Field(default_factory=Routing)
    budget: Budget = Field(default_factory=Budget)
    cache: Cache = Field(default_factory=Cache)
    # Each an instance of settings_model(its type), so it serialises with its own fields too.
    providers: dict[str, SerializeAsAny[ProviderSettings]] = Field(default_factory=dict)
    # Models to add to the catalog: id -> an entry as in models.toml (kind, sizes, formats, limits,
    # providers = { fal = "fal-ai/flux-pro/v1.1" } or full offer tables with prices).
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("providers", mode="before")
    @classmethod
    def _lowercase_names(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(k).lower(): v for k, v in value.items()}
        return value

    @field_validator("cache_dir")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: Any, *args: Any,
                                   **kwargs: Any) -> tuple[Any, ...]:
        """Only what the loader merged: pydantic-settings reading AIGW_* itself would merge them a
        second time, ahead of the config file, and reorder [providers.*] (so a provider whose key
        is in AIGW_PROVIDERS__NAME__API_KEY would jump to the front of `priority` routing)."""
        return (init_settings,)

    def provider(self, name: str) -> ProviderSettings:
        return self.providers.get(name) or settings_model(name)()


def provider_type_problem(name: str, provider: object) -> str | None:
    """Why a [providers.NAME] table cannot be used, or None. Checked by the loader, which knows
    where the table came from; `provider` is the raw table."""
    registered = plugins.providers()
    declared = provider.get("type") if isinstance(provider, dict) else None
    if declared is not None and declared not in registered and declared not in plugins.PROTOCOL_TYPES:
        return f"unknown provider type {declared!r} (types: {', '.join(sorted(plugins.PROTOCOL_TYPES | set(registered)))})"
    if declared is None and name not in registered:
        return f"provider '{name}' is not built in and has no type"
    return None


def known_keys(provider_names: list[str], types: dict[str, str] | None = None) -> list[str]:
    """Every dotted setting name, providers' fields under the given names (each with its own
    fields: its type's, from `types`, else its name's); for suggestions."""
    out: list[str] = []

    def walk(prefix: str, model: type[BaseModel]) -> None:
        for name, info in model.model_fields.items():
            key = f"{prefix}{name}"
            kind = info.annotation
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                walk(key + ".", kind)
            elif name != "providers":
                out.append(key)

    walk("", Settings)
    for provider in provider_names:
        walk(f"providers.{provider}.", settings_model((types or {}).get(provider, provider)))
    return out
