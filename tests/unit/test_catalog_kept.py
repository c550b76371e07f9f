"""catalog/stored.py: the validated catalog kept in the cache is the same catalog, read only while
the files it came from are unchanged, and never kept when it does not validate."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from aigw import catalog
from aigw.catalog import stored

BAD = ('[[model]]\nid = "x"\nkind = "image"\nsizes = ["1x1"]\n[model.providers.openai]\nmodel = "x"\n'
       '[model.providers.openai.price]\nas_of = 2026-01-01\nsource = "s"\nper_image = { "9x9" = { low = 1 } }\n')


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    catalog.load.cache_clear()
    yield
    catalog.load.cache_clear()


@pytest.fixture
def kept_in(tmp_path: Path) -> Path:
    directory = tmp_path / "cache"
    directory.mkdir()
    return directory


def same(a: Any, b: Any, where: str = "") -> None:
    """Equal values, and for every model the same class and the same fields set by the files."""
    assert type(a) is type(b), where
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set, where
        for name in type(a).model_fields:
            same(getattr(a, name), getattr(b, name), f"{where}.{name}")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            same(a[k], b[k], f"{where}[{k}]")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_the_kept_catalog_is_the_validated_one(kept_in: Path) -> None:
    validated = catalog.load(kept_in=kept_in)  # nothing kept yet: parsed, validated, then kept
    kept_file = kept_in / stored.FILE
    assert stat.S_IMODE(kept_file.stat().st_mode) == 0o600
    read = stored.read(kept_in, stored.key(catalog._texts()) or "")
    assert read is not None
    assert list(read.models) == list(validated.models)
    for model_id, model in validated.models.items():
        same(read.models[model_id], model, model_id)
        assert read.models[model_id] == model
    assert read.default_order == validated.default_order
    assert read.provider_defaults == validated.provider_defaults
    assert not list(kept_in.glob(".*.part"))


def test_a_kept_catalog_is_read_without_parsing_the_files(kept_in: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = catalog.load(kept_in=kept_in)
    catalog.load.cache_clear()

    def no_parsing(texts: list[tuple[str, str]]) -> catalog.Catalog:
        raise AssertionError("parsed again")

    monkeypatch.setattr(catalog, "parse", no_parsing)
    again = catalog.load(kept_in=kept_in)
    assert again is not first and again.require("gpt-image-2") == first.require("gpt-image-2")


def test_changed_files_are_validated_again_and_kept_anew(kept_in: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog.load(kept_in=kept_in)
    before = json.loads((kept_in / stored.FILE).read_text())["key"]
    catalog.load.cache_clear()
    (first, text), *others = catalog._texts()
    edited = [(first, text + "\n# an edit that changes no model\n"), *others]
    monkeypatch.setattr(catalog, "_texts", lambda: edited)
    parsed: list[int] = []
    real_parse = catalog.parse
    monkeypatch.setattr(catalog, "parse", lambda t: parsed.append(1) or real_parse(t))
    catalog.load(kept_in=kept_in)
    assert parsed == [1]
    assert json.loads((kept_in / stored.FILE).read_text())["key"] not in (before, None)


def test_an_unreadable_kept_file_is_replaced(kept_in: Path) -> None:
    (kept_in / stored.FILE).write_text('{"key": "torn')
    assert catalog.load(kept_in=kept_in).require("gpt-image-2")
    assert stored.read(kept_in, stored.key(catalog._texts()) or "") is not None


def test_a_kept_file_under_the_right_key_but_not_this_schemas_shape_is_not_used(kept_in: Path) -> None:
    key = stored.key(catalog._texts()) or ""
    (kept_in / stored.FILE).write_text(json.dumps({"key": key, "models": [["model", "Model", [], {"id": "x"}]],
                                                   "default_order": {}, "provider_defaults": {}}))
    assert stored.read(kept_in, key) is None  # a Model without its other fields
    (kept_in / stored.FILE).write_text(json.dumps({"key": key, "models": [["model", "Catalog", [], {}]],
                                                   "default_order": {}, "provider_defaults": {}}))
    assert stored.read(kept_in, key) is None  # only the schema's classes are ever built


def test_a_catalog_that_does_not_validate_is_not_kept(kept_in: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "_texts", lambda: [("", BAD)])
    with pytest.raises(ValueError, match="sizes it does not offer"):
        catalog.load(kept_in=kept_in)
    assert not (kept_in / stored.FILE).exists()


def test_nothing_is_kept_where_there_is_no_cache_yet(tmp_path: Path) -> None:
    assert catalog.load(kept_in=tmp_path / "absent").require("gpt-image-2")
    assert not (tmp_path / "absent").exists()
