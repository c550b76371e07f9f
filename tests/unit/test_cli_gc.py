"""In aigw's own process, generate and transcribe collect no garbage from parsing to the start of
their run (cli/common.py collect_from_the_run); the run itself, and every other command, do."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from aigw.cli import common, signals
from aigw.cli.main import run
from aigw.cli.output import STATE


@pytest.fixture
def own_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(STATE, "own_process", True)
    try:
        yield
    finally:  # this test process keeps collecting, and nothing of it stays frozen
        gc.enable()
        gc.unfreeze()


def test_generate_collects_from_the_start_of_its_run(own_process: None, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, bool] = {}
    real_make_engine = common.make_engine

    def make_engine(**kwargs: Any) -> Any:
        seen["making the engine"] = gc.isenabled()
        return real_make_engine(**kwargs)

    def signals_run(coro: Any, **kwargs: Any) -> Any:
        coro.close()
        seen["running"] = gc.isenabled()
        raise RuntimeError("stopped by the test")

    monkeypatch.setattr(common, "make_engine", make_engine)
    monkeypatch.setattr(signals, "run", signals_run)
    with pytest.raises(SystemExit):
        run(["generate", "a pear", "-m", "gpt-image-2"])
    assert seen == {"making the engine": False, "running": True}


def test_other_commands_keep_collecting(own_process: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        run(["config", "path"])
    assert done.value.code == 0, capsys.readouterr().err
    assert gc.isenabled()
