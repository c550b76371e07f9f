"""Built-in provider types as data: name -> (module, class, standard environment variables).

Kept import-free so settings validation and `--help` can read it without loading any provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProviderType:
    module: str
    cls: str
    # settings field -> environment variables the provider's own SDK reads, first wins;
    # "A:B" means both variables joined with ":" (fal's FAL_KEY_ID + FAL_KEY_SECRET)
    env: dict[str, tuple[str, ...]] = field(default_factory=dict)
    needs_key: bool = True
    signup_hint: str = ""


BUILTIN: dict[str, ProviderType] = {
    "openai": ProviderType(
        "aigw.providers.openai",
        "OpenAIProvider",
        # OPENAI_GATEWAY_URL (as the seed apps name it) routes the built-in provider through a gateway.
        env={"api_key": ("OPENAI_API_KEY",), "base_url": ("OPENAI_GATEWAY_URL", "OPENAI_BASE_URL")},
    ),
    "azure": ProviderType(
        "aigw.providers.azure",
        "AzureOpenAIProvider",
        env={"api_key": ("AZURE_OPENAI_API_KEY",), "base_url": ("AZURE_OPENAI_ENDPOINT",),
             "api_version": ("OPENAI_API_VERSION",)},
    ),
    "fal": ProviderType("aigw.providers.fal", "FalProvider", env={"api_key": ("FAL_KEY", "FAL_KEY_ID:FAL_KEY_SECRET")}),
    "replicate": ProviderType(
        "aigw.providers.replicate", "ReplicateProvider",
        env={"api_key": ("REPLICATE_API_TOKEN",), "base_url": ("REPLICATE_BASE_URL",)},
    ),
    "runpod": ProviderType(
        "aigw.providers.runpod", "RunPodProvider",
        env={"api_key": ("RUNPOD_API_KEY",), "base_url": ("RUNPOD_ENDPOINT_BASE_URL",)},
    ),
    "groq": ProviderType("aigw.providers.groq", "GroqProvider",
                         env={"api_key": ("GROQ_API_KEY",), "base_url": ("GROQ_BASE_URL",)}),
    "together": ProviderType("aigw.providers.together", "TogetherProvider",
                             env={"api_key": ("TOGETHER_API_KEY",), "base_url": ("TOGETHER_BASE_URL",)}),
    "stability": ProviderType("aigw.providers.stability", "StabilityProvider", env={"api_key": ("STABILITY_API_KEY",)}),
    "deepgram": ProviderType("aigw.providers.deepgram", "DeepgramProvider", env={"api_key": ("DEEPGRAM_API_KEY",)}),
    "local": ProviderType("aigw.providers.local", "LocalProvider", needs_key=False),
}

# A configured provider may name one of these as its `type` to reuse a built-in wire protocol.
PROTOCOL_TYPES = {"openai"}


def type_of(name: str, declared: str | None) -> str:
    return declared or name
