"""Built-in provider types as data: name -> (module, class, standard environment variables).

Kept import-free so settings validation and `--help` can read it without loading any provider.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProviderType:
    module: str
    cls: str
    # settings field -> environment variables the provider's own SDK reads, first wins
    env: dict[str, tuple[str, ...]] = field(default_factory=dict)
    needs_key: bool = True
    signup_hint: str = ""


BUILTIN: dict[str, ProviderType] = {
    "openai": ProviderType(
        "aigw.providers.openai",
        "OpenAIProvider",
        env={"api_key": ("OPENAI_API_KEY",), "base_url": ("OPENAI_BASE_URL",)},
        signup_hint="https://platform.openai.com/api-keys",
    ),
    "local": ProviderType("aigw.providers.local", "LocalProvider", needs_key=False),
}

# A configured provider may name one of these as its `type` to reuse a built-in wire protocol.
PROTOCOL_TYPES = {"openai"}


def type_of(name: str, declared: str | None) -> str:
    return declared or name
