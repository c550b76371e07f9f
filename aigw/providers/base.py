"""The provider interface: one wire protocol each, no failover, only aigw errors out."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from aigw.errors import UsageError
from aigw.providers.registry import BUILTIN

if TYPE_CHECKING:
    import httpx

    from aigw.settings.model import ProviderSettings
    from aigw.types import ImageCall, ProviderImages, ProviderTranscript, TranscribeCall

DEFAULT_TIMEOUT_S = 300.0


class Provider(Protocol):
    name: str
    kinds: ClassVar[frozenset[str]]

    async def generate(self, call: ImageCall, *, timeout: float) -> ProviderImages: ...

    async def transcribe(self, call: TranscribeCall, *, timeout: float) -> ProviderTranscript: ...


class HTTPProvider:
    """Shared plumbing for providers that speak HTTP: name, settings, client, base URL."""

    kinds: ClassVar[frozenset[str]] = frozenset()
    default_base_url: ClassVar[str] = ""

    def __init__(self, name: str, settings: ProviderSettings, client: httpx.AsyncClient) -> None:
        self.name = name
        self.settings = settings
        self.client = client
        self.base_url = (settings.base_url or self.default_base_url).rstrip("/")

    @property
    def api_key(self) -> str | None:
        return self.settings.api_key.get_secret_value() if self.settings.api_key else None

    async def generate(self, call: ImageCall, *, timeout: float) -> ProviderImages:
        raise UsageError(f"{self.name} does not generate images")

    async def transcribe(self, call: TranscribeCall, *, timeout: float) -> ProviderTranscript:
        raise UsageError(f"{self.name} does not transcribe audio")


def provider_class(type_name: str) -> Any:
    spec = BUILTIN[type_name]
    return getattr(importlib.import_module(spec.module), spec.cls)


def build(name: str, settings: ProviderSettings, client: httpx.AsyncClient) -> Provider:
    cls = provider_class(settings.type or name)
    return cls(name, settings, client)  # type: ignore[no-any-return]
