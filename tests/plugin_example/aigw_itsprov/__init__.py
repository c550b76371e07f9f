"""The description aigw reads, kept import-light: the provider's code is imported only when used."""

from pathlib import Path
from typing import Literal

from aigw.providers.api import ProviderDescription

description = ProviderDescription(
    name="itsprov",                                  # [providers.itsprov], keys.toml, -p itsprov
    factory="aigw_itsprov.provider:ItsProvider",     # imported only when a run uses the provider
    kinds=frozenset({"image"}),                      # "image", "audio"
    env={"api_key": ("ITSPROV_API_KEY",), "base_url": ("ITSPROV_BASE_URL",)},  # first set wins
    settings={"flavour": Literal["plain", "vanilla", "mint"], "scoops": int},  # its own fields
    needs_key=True,                                  # False: usable with no key (like `local`)
    auth_hint="Authorization: Bearer",
    signup_hint="https://itsprov.example/keys",
    catalog=str(Path(__file__).with_name("catalog.toml")),
)
