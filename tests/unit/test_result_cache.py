"""The result cache's pieces: the canonical request and its key, entries on disk (whole or absent,
verified on read, linked or copied), and what prune selects."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from aigw.store.cache import Damaged, ResultCache, key, prune
from aigw.store.cache.entries import Entry
from aigw.types import ImageRequest, TranscribeRequest


def image_key(**fields: object) -> str:
    req = ImageRequest(prompt="a fox", model="flux-schnell", **fields)  # type: ignore[arg-type]
    return key.key_of(key.image_request(req, default_size="1024x1024", default_quality=None))


def test_a_default_given_or_not_is_one_key_and_routing_is_not_in_it():
    assert image_key() == image_key(size="1024x1024") == image_key(n=1)
    assert image_key() != image_key(size="512x512")
    assert image_key(aspect_ratio="16:9") != image_key(aspect_ratio="16:9", size="1024x1024")
    assert image_key(seed=1) != image_key(seed=2) != image_key()
    assert image_key(enhancers=("cinematic", "sharp_focus")) != image_key(enhancers=("sharp_focus", "cinematic"))
    doc = key.image_request(ImageRequest(prompt="a fox", model="flux-schnell"), default_size=None, default_quality=None)
    assert doc["params"] == {}  # no None noise, no default


def test_the_key_does_not_depend_on_the_order_of_keys():
    assert key.key_of({"a": 1, "b": {"c": 2, "d": 3}}) == key.key_of({"b": {"d": 3, "c": 2}, "a": 1})


def test_audio_is_keyed_by_its_bytes_and_format_never_its_name(tmp_path):
    one, two = tmp_path / "one.wav", tmp_path / "two.mp3"
    one.write_bytes(b"RIFF" + bytes(5000))
    two.write_bytes(one.read_bytes())

    def audio_key(path: Path, **fields: object) -> str:
        req = TranscribeRequest(file=path, model="whisper-1", **fields)  # type: ignore[arg-type]
        return key.key_of(key.audio_request(req, key.file_sha256(path)))

    assert audio_key(one) == audio_key(two) == audio_key(two, translate=False)
    assert audio_key(one) != audio_key(one, format="srt") != audio_key(one, language="en")
    assert audio_key(one, format="srt") != audio_key(one, format="srt", max_line_width=32)
    assert audio_key(one) != audio_key(one, diarize=True) and audio_key(one) == audio_key(one, format="text")
    two.write_bytes(one.read_bytes()[:-1] + b"\x01")
    assert audio_key(one) != audio_key(two)


def put(cache: ResultCache, tmp_path: Path, k: str = "ab" * 32, data: bytes = b"result bytes") -> Path:
    result = tmp_path / "results" / f"{k[:6]}.txt"
    result.parent.mkdir(parents=True, exist_ok=True)
    result.write_bytes(data)
    cache.put(k, {"kind": "audio", "source_run": "r1"}, [(result, "1.txt")])
    return result


def test_an_entry_round_trips_and_shares_the_file_with_the_result(tmp_path):
    cache = ResultCache(tmp_path)
    result = put(cache, tmp_path)
    entry = cache.get("ab" * 32)
    assert entry is not None and entry.files[0].read_bytes() == b"result bytes"
    assert os.path.samefile(entry.files[0], result)  # a hard link, not a second copy
    assert entry.manifest["files"][0]["bytes"] == len(b"result bytes")
    assert not list((tmp_path / "cache" / ".tmp").iterdir())
    assert cache.get("cd" * 32) is None


def test_where_links_fail_the_entry_is_a_copy(tmp_path, monkeypatch):
    def no_links(src: object, dst: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    cache = ResultCache(tmp_path)
    result = put(cache, tmp_path)
    entry = cache.get("ab" * 32)
    assert entry is not None and not os.path.samefile(entry.files[0], result)
    result.unlink()
    assert cache.get("ab" * 32) is not None and (entry.files[0].stat().st_mode & 0o777) == 0o600


def test_a_failed_write_leaves_no_entry_and_no_build_directory(tmp_path, monkeypatch):
    from aigw.store.cache import entries

    def broken(src: Path, dest: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(entries, "link_or_copy", broken)
    with pytest.raises(OSError):
        put(ResultCache(tmp_path), tmp_path)
    assert ResultCache(tmp_path).get("ab" * 32) is None
    assert not list((tmp_path / "cache" / ".tmp").iterdir())


def test_put_replaces_and_a_changed_artefact_is_damaged(tmp_path):
    cache = ResultCache(tmp_path)
    put(cache, tmp_path, data=b"first")
    put(cache, tmp_path, data=b"second")
    entry = cache.get("ab" * 32)
    assert entry is not None and entry.files[0].read_bytes() == b"second"
    entry.files[0].write_bytes(b"SECOND")  # same size, other bytes
    with pytest.raises(Damaged, match="does not match"):
        cache.get("ab" * 32)
    (entry.path / "manifest.json").write_text('{"format": 1, "files": [{"name": "../../x", "bytes": 1, "sha256": ""}]}')
    with pytest.raises(Damaged, match="no valid files"):
        cache.get("ab" * 32)
    assert [e.damaged is not None for e in cache.scan()] == [True]


def test_removing_an_entry_frees_only_what_no_result_still_holds(tmp_path):
    cache = ResultCache(tmp_path)
    result = put(cache, tmp_path, data=b"x" * 10_000)
    [entry] = cache.scan()
    assert cache.remove(entry) < 10_000 and result.read_bytes() == b"x" * 10_000
    put(cache, tmp_path, data=b"y" * 10_000)
    result.unlink()
    [entry] = cache.scan()
    assert cache.remove(entry) >= 10_000 and cache.scan() == []


def entry(name: str, size: int, used: float, damaged: str | None = None) -> Entry:
    return Entry(name, Path(name), {}, [], size, used, damaged)


def test_prune_selects_old_and_damaged_then_least_recently_used():
    now = 1_000_000.0
    a, b, c, d = entry("a", 100, now - 90_000), entry("b", 100, now - 10), entry("c", 100, now - 20), \
        entry("d", 5, now, damaged="bad")
    assert [e.key for e in prune.select([a, b, c, d], now=now, older_than_s=86_400, max_bytes=None)] == ["a", "d"]
    assert [e.key for e in prune.select([a, b, c, d], now=now, older_than_s=None, max_bytes=150)] == ["d", "a", "c"]
    assert [e.key for e in prune.select([a, b, c], now=now, older_than_s=0, max_bytes=None)] == ["a", "b", "c"]


@pytest.mark.parametrize(("text", "seconds"), [("30d", 2_592_000), ("12h", 43_200), ("0d", 0), ("2w", 1_209_600)])
def test_ages(text, seconds):
    assert prune.parse_age(text) == seconds


@pytest.mark.parametrize(("text", "size"), [("2GB", 2 * 10**9), ("500MB", 5 * 10**8), ("1GiB", 2**30), ("4096", 4096)])
def test_sizes(text, size):
    assert prune.parse_size(text) == size


@pytest.mark.parametrize("text", ["soon", "2 lots", "-1GB", ""])
def test_bad_sizes(text):
    with pytest.raises(ValueError):
        prune.parse_size(text)


def test_m010_upgrades_a_log_written_before_it(tmp_path, monkeypatch):
    import sqlite3

    from aigw.store import migrations

    conn = sqlite3.connect(tmp_path / "aigw.db", isolation_level=None)
    before = [m for m in migrations.MIGRATIONS if m[0] < "m010"]
    monkeypatch.setattr(migrations, "MIGRATIONS", before)
    migrations.migrate(conn)
    conn.execute("INSERT INTO runs (id, kind, created_at, status, requested_model, request_json)"
                 " VALUES ('r1', 'audio', '2026-12-01', 'ok', 'whisper-1', '{}')")
    monkeypatch.undo()
    assert "m010_result_cache" in migrations.migrate(conn)  # with any later branch's migrations
    assert conn.execute("SELECT id, cache_hit_of FROM runs").fetchall() == [("r1", None)]
    assert conn.execute("SELECT COUNT(*) FROM cache_entries").fetchone() == (0,)


def test_a_file_is_hashed_again_once_it_changes(tmp_path):
    import hashlib

    path = tmp_path / "talk.wav"
    path.write_bytes(b"one")
    assert key.file_sha256(path) == hashlib.sha256(b"one").hexdigest()
    path.write_bytes(b"two")
    os.utime(path, ns=(1, 1))  # the same size; only the mtime tells
    assert key.file_sha256(path) == hashlib.sha256(b"two").hexdigest()
