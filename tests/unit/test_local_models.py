"""Where the local provider finds a faster-whisper model (aigw/providers/local.py), and that asking
costs nothing on a machine that never downloaded one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("faster_whisper", reason="the local extra ('.[local,test]') is not installed")

from aigw.providers import local  # noqa: E402

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def hub_with_large_v3(hub: Path) -> Path:
    """The Hugging Face cache as a download of Systran/faster-whisper-large-v3 leaves it."""
    repo = hub / "models--Systran--faster-whisper-large-v3"
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        (snapshot / name).write_bytes(b"{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    return snapshot


def test_a_model_in_the_hugging_face_cache_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = hub_with_large_v3(tmp_path / "hub")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert local.resolve_model("large-v3") == str(snapshot)
    assert local.resolve_model("medium.en") is None  # not downloaded: nothing is fetched


def test_with_no_model_cached_faster_whisper_is_not_even_imported(tmp_path: Path) -> None:
    """`aigw models` asks this for every local model it lists: a quarter of a second of imports each
    time, on a machine that has never downloaded one, was the slowest part of listing models."""
    probe = ("import sys; from aigw.providers.local import resolve_model; "
             "print(resolve_model('large-v3'), 'faster_whisper' in sys.modules)")
    for hub in (tmp_path / "missing", tmp_path / "empty"):
        if hub.name == "empty":
            hub.mkdir()
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                             env={"PATH": "/usr/bin:/bin", "HF_HUB_CACHE": str(hub), "HOME": str(tmp_path)})
        assert out.stdout.split() == ["None", "False"], out.stderr


@pytest.mark.parametrize("variable, value, hub", [
    ("HF_HUB_CACHE", "$HF_ROOT/hub", "hub"),
    ("HF_HOME", "${HF_ROOT}/hf", "hf/hub"),
])
def test_a_cache_named_with_a_variable_is_found_as_hugging_face_finds_it(tmp_path: Path, variable: str, value: str,
                                                                        hub: str) -> None:
    """huggingface_hub expands variables (and ~) in HF_HOME and HF_HUB_CACHE; faster-whisper finds a
    model there, so the check that comes first must look in the same place."""
    snapshot = hub_with_large_v3(tmp_path / hub)
    probe = "from aigw.providers.local import resolve_model; print(resolve_model('large-v3'))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_ROOT": str(tmp_path), variable: value})
    assert out.stdout.strip() == str(snapshot), out.stderr
