"""The validated catalog kept in the cache directory (`<cache>/catalog.json`), read instead of the
TOML files while they are unchanged.

Parsing the catalog's TOML (about 34 kB, aigw's own files and every provider package's) with
tomllib and building pydantic's validators for its models cost a one-shot `aigw generate` about 5%
of its instructions, for the same result every time; reading the kept copy costs under 2%. The
validated catalog is therefore kept as JSON under a key: the SHA-256 of every catalog text, of the
code that turns them into the catalog (this module, the loader and the schema) and of pydantic's
version. When the key matches, the models are rebuilt from the JSON as they were validated
(`model_construct`, every field's value and which fields the files set); when it does not, or the
file cannot be read, the catalog is parsed and validated as always and the file written again. A
catalog that fails validation is never kept.

The JSON holds data only: each value is a JSON scalar or a tagged list, ["model", class name,
fields set, {field: value}], ["date", ISO date], ["dict", {key: value}] or ["list", [values]], and
only the classes of aigw/catalog/schema.py are built from it. The file is private like everything
in the cache (0600), written to a temporary name and renamed; it is written only into a cache
directory that already exists (the run log creates it, 0700, on the first run).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aigw.catalog import Catalog, schema

FILE = "catalog.json"
FORMAT = "aigw catalog 1"  # changes when the layout below does
_CODE = ("__init__.py", "schema.py", "stored.py")  # what turns the texts into a Catalog
_CLASSES: dict[str, type[BaseModel]] = {
    name: cls for name, cls in vars(schema).items()
    if isinstance(cls, type) and issubclass(cls, BaseModel) and cls.__module__ == schema.__name__
}


def key(texts: list[tuple[str, str]]) -> str | None:
    """What the kept catalog must have been made from; None when aigw's own code cannot be read
    (a zipped install), and then nothing is kept."""
    import pydantic

    digest = hashlib.sha256(f"{FORMAT}\0{pydantic.VERSION}\0".encode())
    here = Path(__file__).parent
    try:
        for name in _CODE:
            digest.update((here / name).read_bytes() + b"\0")
    except OSError:
        return None
    for provider, text in texts:
        digest.update(f"{provider}\0{text}\0".encode())
    return digest.hexdigest()


def read(cache_dir: Path, expected: str) -> Catalog | None:
    """The kept catalog, if it was made under `expected`; None if it was not, or cannot be read."""
    try:
        with open(cache_dir / FILE, "rb") as fh:
            kept = json.load(fh)
        if not isinstance(kept, dict) or kept.get("key") != expected:
            return None
        return Catalog([_decode(node) for node in kept["models"]], kept["default_order"], kept["provider_defaults"])
    except (OSError, ValueError, KeyError, TypeError):  # absent, torn, or not what this code writes
        return None


def write(cache_dir: Path, made_under: str, catalog: Catalog) -> None:
    """Keep `catalog` for the next process; quietly nothing when the cache cannot take it (the
    catalog is then validated again next time, as it was before anything was kept)."""
    if not cache_dir.is_dir():
        return
    try:
        document = {"key": made_under, "models": [_encode(m) for m in catalog.models.values()],
                    "default_order": catalog.default_order, "provider_defaults": catalog.provider_defaults}
    except TypeError:  # a field of a type _encode has no form for (the tests say which)
        return
    from aigw.store.files import write_part

    data = json.dumps(document, separators=(",", ":")).encode()
    part = None
    try:  # private (0600) under a temporary name, then renamed: as the cache writes its results
        part, _ = write_part(cache_dir / FILE, data, cache_dir=cache_dir)
        os.replace(part, cache_dir / FILE)
    except OSError:
        if part is not None:
            with contextlib.suppress(OSError):
                part.unlink()


def _encode(value: Any) -> Any:
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        return ["model", type(value).__name__, sorted(value.model_fields_set),
                {name: _encode(getattr(value, name)) for name in fields}]
    if isinstance(value, date) and not isinstance(value, datetime):
        return ["date", value.isoformat()]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return ["dict", {k: _encode(v) for k, v in value.items()}]
    if isinstance(value, list):
        return ["list", [_encode(v) for v in value]]
    if value is None or type(value) in (str, int, float, bool):
        return value
    raise TypeError(f"the kept catalog has no form for {type(value).__name__}")


def _decode(node: Any) -> Any:
    if not isinstance(node, list):
        return node
    tag, body = node[0], node[-1]
    if tag == "model":
        cls = _CLASSES[node[1]]
        values = {name: _decode(v) for name, v in body.items()}
        if values.keys() != cls.model_fields.keys():
            raise KeyError(f"{cls.__name__}: fields differ from the schema's")
        return cls.model_construct(_fields_set=set(node[2]), **values)
    if tag == "date":
        return date.fromisoformat(body)
    if tag == "dict":
        return {k: _decode(v) for k, v in body.items()}
    if tag == "list":
        return [_decode(v) for v in body]
    raise ValueError(f"unknown tag {tag!r}")
