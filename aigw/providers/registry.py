"""aigw's own providers, described once each (aigw.plugins.ProviderDescription) and registered
through the `aigw.providers` entry-point group by pyproject.toml's `builtins` entry, like any
third-party provider package. Data only: no provider module is imported here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from aigw.plugins import PROTOCOL_TYPES, ProviderDescription, type_of

__all__ = ["BUILTIN", "PROTOCOL_TYPES", "builtins", "type_of"]

IMAGE_AUDIO = frozenset({"image", "audio"})
AUDIO = frozenset({"audio"})

DESCRIPTIONS: tuple[ProviderDescription, ...] = (
    ProviderDescription(
        "openai", "aigw.providers.openai:OpenAIProvider", IMAGE_AUDIO,
        # OPENAI_GATEWAY_URL (as the seed apps name it) routes the built-in provider through a gateway.
        env={"api_key": ("OPENAI_API_KEY",), "base_url": ("OPENAI_GATEWAY_URL", "OPENAI_BASE_URL")},
        auth_hint="Authorization: Bearer", signup_hint="https://platform.openai.com/api-keys",
    ),
    ProviderDescription(
        "azure", "aigw.providers.azure:AzureOpenAIProvider", IMAGE_AUDIO,
        env={"api_key": ("AZURE_OPENAI_API_KEY",), "base_url": ("AZURE_OPENAI_ENDPOINT",),
             "api_version": ("OPENAI_API_VERSION",)},
        settings={"api_version": str},
        auth_hint="api-key header (auth = \"bearer\" for an Entra ID token)",
        signup_hint="https://portal.azure.com (a resource's Keys and Endpoint page)",
    ),
    ProviderDescription(
        "fal", "aigw.providers.fal:FalProvider", IMAGE_AUDIO,
        env={"api_key": ("FAL_KEY", "FAL_KEY_ID:FAL_KEY_SECRET")},
        auth_hint="Authorization: Key", signup_hint="https://fal.ai/dashboard/keys",
    ),
    ProviderDescription(
        "replicate", "aigw.providers.replicate:ReplicateProvider", IMAGE_AUDIO,
        env={"api_key": ("REPLICATE_API_TOKEN",), "base_url": ("REPLICATE_BASE_URL",)},
        auth_hint="Authorization: Bearer", signup_hint="https://replicate.com/account/api-tokens",
    ),
    ProviderDescription(
        # Endpoint ids are the `models` table (catalog id -> endpoint id): a common field.
        "runpod", "aigw.providers.runpod:RunPodProvider", IMAGE_AUDIO,
        env={"api_key": ("RUNPOD_API_KEY",), "base_url": ("RUNPOD_ENDPOINT_BASE_URL",)},
        auth_hint="Authorization: Bearer", signup_hint="https://www.runpod.io/console/user/settings",
    ),
    ProviderDescription(
        "groq", "aigw.providers.groq:GroqProvider", AUDIO,
        env={"api_key": ("GROQ_API_KEY",), "base_url": ("GROQ_BASE_URL",)},
        auth_hint="Authorization: Bearer", signup_hint="https://console.groq.com/keys",
    ),
    ProviderDescription(
        "together", "aigw.providers.together:TogetherProvider", IMAGE_AUDIO,
        env={"api_key": ("TOGETHER_API_KEY",), "base_url": ("TOGETHER_BASE_URL",)},
        auth_hint="Authorization: Bearer", signup_hint="https://api.together.ai/settings/api-keys",
    ),
    ProviderDescription(
        "stability", "aigw.providers.stability:StabilityProvider", frozenset({"image"}),
        env={"api_key": ("STABILITY_API_KEY",)},
        auth_hint="Authorization: Bearer", signup_hint="https://platform.stability.ai/account/keys",
    ),
    ProviderDescription(
        "deepgram", "aigw.providers.deepgram:DeepgramProvider", AUDIO,
        env={"api_key": ("DEEPGRAM_API_KEY",)},
        auth_hint="Authorization: Token", signup_hint="https://console.deepgram.com",
    ),
    ProviderDescription(
        "local", "aigw.providers.local:LocalProvider", AUDIO, needs_key=False,
        # faster-whisper on this machine: which model, on which device, at which precision, with how
        # many CPU threads (CTranslate2's compute types; 0 threads: its default, 4 or the cores there are).
        settings={"model": str, "device": Literal["auto", "cpu", "cuda"],
                  "compute_type": Literal["default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16",
                                          "int16", "float16", "bfloat16", "float32"],
                  "threads": Annotated[int, Field(ge=0, le=256)]},
        auth_hint="no key: runs on this machine (pip install 'aigw[local]')",
    ),
)


def builtins() -> tuple[ProviderDescription, ...]:
    """The `aigw.providers` entry point aigw registers for itself."""
    return DESCRIPTIONS


# aigw's own providers only, by name, in the table's order (README's option table, tests).
# Everything that routes or validates reads aigw.plugins.providers(), which adds plugins.
BUILTIN: dict[str, ProviderDescription] = {d.name: d for d in DESCRIPTIONS}
