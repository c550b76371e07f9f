"""The description aigw reads, kept import-light: the provider's code is imported only when used."""

from pathlib import Path
from typing import Literal

from aigw.plugins import ProviderDescription

description = ProviderDescription(
    name="itsprov",
    factory="aigw_itsprov.provider:ItsProvider",
    kinds=frozenset({"image"}),
    env={"api_key": ("ITSPROV_API_KEY",), "base_url": ("ITSPROV_BASE_URL",)},
    settings={"flavour": Literal["plain", "vanilla", "mint"], "scoops": int},
    auth_hint="Authorization: Bearer",
    signup_hint="https://itsprov.example/keys",
    catalog=str(Path(__file__).with_name("catalog.toml")),
)
