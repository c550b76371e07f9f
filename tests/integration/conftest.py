"""Two OpenAI-compatible providers in config, so failover can be watched from outside."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.openai import FakeOpenAI


@dataclass
class Pair:
    primary: FakeOpenAI
    secondary: FakeOpenAI
    config_file: Path

    def configure(self, extra: str = "", *, primary_url: str | None = None, primary_extra: str = "",
                  secondary_extra: str = "") -> None:
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(
            f"{extra}\n"
            "[providers.primary]\n"
            'type = "openai"\n'
            f'base_url = "{primary_url or self.primary.base_url}"\n'
            'auth = "none"\n'
            'models = ["gpt-image-2", "whisper-1"]\n'
            f"{primary_extra}\n"
            "[providers.secondary]\n"
            'type = "openai"\n'
            f'base_url = "{self.secondary.base_url}"\n'
            'auth = "none"\n'
            'models = ["gpt-image-2", "whisper-1"]\n'
            f"{secondary_extra}\n"
        )


@pytest.fixture
def pair(config_file: Path) -> Iterator[Pair]:
    with FakeOpenAI(auth="none") as primary, FakeOpenAI(auth="none") as secondary:
        p = Pair(primary, secondary, config_file)
        p.configure()
        yield p
        assert not primary.errors and not secondary.errors


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting is refused at once."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
