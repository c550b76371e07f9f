"""Long-recording tests: a fake OpenAI that hears the fixture sentences (tests/fakes/_speech.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.openai import FakeOpenAI


LIMIT = 3_000_000  # bytes per request in these tests: a few minutes of FLAC


@pytest.fixture
def hearing_openai(monkeypatch: pytest.MonkeyPatch, config_file: Path) -> Iterator[FakeOpenAI]:
    """Enforces LIMIT, and the catalog says so (a user may lower a model's limits in config.toml)."""
    from tests.fakes._speech import transcriber

    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(f'[models."whisper-1"]\nextends = "whisper-1"\nlimits = {{ upload_bytes = {LIMIT} }}\n')
    with FakeOpenAI(transcriber=transcriber, max_body_bytes=LIMIT) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        yield fake
