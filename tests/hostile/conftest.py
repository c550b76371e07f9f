"""A hostile upstream first, and (when a test wants one) a healthy OpenAI-compatible server second."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.hostile import HostileServer
from tests.fakes.openai import FakeOpenAI
from tests.helpers import Result

# Not token-shaped on purpose: only the registry of values aigw sent can catch it.
CANARY = "cnry-7f3a9c2e41d8b6aa"
KEY_ENV = {"AIGW_PROVIDERS__HOSTILE__API_KEY": CANARY}


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.fixture
def healthy() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(auth="none") as server:
        yield server
        assert not server.errors


def configure(config_file: Path, hostile: HostileServer, healthy: FakeOpenAI | None = None, *,
              auth: str = "bearer", extra: str = "") -> None:
    text = (f"{extra}\n[providers.hostile]\ntype = \"openai\"\nbase_url = \"{hostile.base_url}\"\n"
            f"auth = \"{auth}\"\nmodels = [\"gpt-image-2\", \"whisper-1\"]\n")
    if healthy is not None:
        text += (f"[providers.backup]\ntype = \"openai\"\nbase_url = \"{healthy.base_url}\"\nauth = \"none\"\n"
                 "models = [\"gpt-image-2\", \"whisper-1\"]\n")
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(text)


def everything_in_db(cache_dir: Path) -> str:
    """Every value of every row of every table of aigw.db, as one string."""
    conn = sqlite3.connect(cache_dir / "aigw.db")
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"'))
    finally:
        conn.close()


def everything_in_results(cache_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (cache_dir / "results").rglob("*") if p.is_file())


def assert_one_error(r: Result, code: int) -> None:
    """Exit code, exactly one error line (plus at most a hint line), no traceback."""
    assert r.code == code, (r.code, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("aigw: error: ")]
    assert len(errors) == 1, r.stderr
    after = r.stderr.splitlines()[r.stderr.splitlines().index(errors[0]) + 1:]
    assert all(line.startswith("hint: ") for line in after) and len(after) <= 1, r.stderr
