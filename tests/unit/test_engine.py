"""The engine as other code calls it: many runs at once on one engine, the events each run emits
in order, and the terminal renderer's levels."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from aigw.events import (
    AttemptFinished,
    AttemptStarted,
    Event,
    Notice,
    ResultSaved,
    RunFinished,
    RunStarted,
)


def engine_for_tests(events):  # type: ignore[no-untyped-def]
    from aigw import catalog, settings
    from aigw.engine import open_engine

    loaded = settings.load()
    return open_engine(loaded, catalog.load(), loaded.settings.cache_dir or settings.default_cache_dir(),
                       events=events)


def test_concurrent_runs_on_one_engine_each_commit_their_own_result(fake_openai, cache_dir):
    from aigw.engine import RunOptions
    from aigw.types import ImageRequest

    seen: list[Event] = []
    n = 12

    async def main():  # type: ignore[no-untyped-def]
        async with engine_for_tests(seen.append) as engine:
            requests = [ImageRequest(prompt=f"a cat {i}", model="gpt-image-1-mini") for i in range(n)]
            return await asyncio.gather(*(engine.run(r, RunOptions()) for r in requests))

    served = asyncio.run(main())
    ids = {s.result.id for s in served}
    assert len(ids) == n and all(Path(s.result.paths[0]).is_file() for s in served)
    db = sqlite3.connect(cache_dir / "aigw.db")
    assert db.execute("SELECT count(*) FROM runs WHERE status = 'ok' AND exit_code = 0").fetchone()[0] == n
    assert db.execute("SELECT count(DISTINCT run_id) FROM files").fetchone()[0] == n
    assert db.execute("SELECT count(*) FROM attempts WHERE served = 1").fetchone()[0] == n
    # A paid result's three events come together: no other run's event between them (one transaction).
    for i, event in enumerate(seen):
        if isinstance(event, ResultSaved):
            served_attempt, finished = seen[i + 1], seen[i + 2]
            assert isinstance(served_attempt, AttemptFinished) and served_attempt.attempt.served
            assert isinstance(finished, RunFinished) and finished.result is not None
            assert event.run_id == served_attempt.run_id == finished.run_id
    # Each run's events, in order.
    first = served[0].result.id
    kinds = [type(e).__name__ for e in seen if getattr(e, "run_id", None) == first and not isinstance(e, Notice)]
    assert kinds == ["RunStarted", "AttemptStarted", "ResultSaved", "AttemptFinished", "RunFinished"]
    assert sum(isinstance(e, RunStarted) for e in seen) == n
    assert all(e.run_id for e in seen if isinstance(e, AttemptStarted))


def test_a_failed_run_finishes_with_its_error_and_exit_code(cache_dir, monkeypatch):
    import socket

    from aigw import errors
    from aigw.clock import FakeClock
    from aigw.engine import RunOptions, open_engine
    from aigw import catalog, settings
    from aigw.types import ImageRequest

    with socket.socket() as s:  # a port nobody listens on: connection refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    seen: list[Event] = []
    clock = FakeClock()

    async def main():  # type: ignore[no-untyped-def]
        loaded = settings.load()
        async with open_engine(loaded, catalog.load(), cache_dir, clock=clock, events=seen.append) as engine:
            await engine.run(ImageRequest(prompt="x", model="gpt-image-1-mini"), RunOptions())

    try:
        asyncio.run(main())
    except errors.AigwError as exc:
        failure = exc
    else:
        raise AssertionError("a refused connection must fail the run")
    finished = [e for e in seen if isinstance(e, RunFinished)]
    assert len(finished) == 1 and finished[0].result is None and finished[0].exit_code == failure.exit_code != 0
    attempts = [e.attempt for e in seen if isinstance(e, AttemptFinished)]
    assert attempts and not any(a.served for a in attempts) and len(clock.slept) == len(attempts) - 1
    row = sqlite3.connect(cache_dir / "aigw.db").execute("SELECT status, exit_code FROM runs").fetchall()
    assert row == [("failed", failure.exit_code)]
    assert failure.run_id == finished[0].run_id  # type: ignore[attr-defined]


def test_the_renderer_prints_each_notice_level_with_its_prefix(capsys):
    from aigw.cli.output import UI
    from aigw.cli.status import Renderer

    render = Renderer(UI(), once_per_text=True)
    render(Notice("info", "falling back to dall-e-3"))
    render(Notice("warning", "openai left out: no seed"))
    render(Notice("cost", "estimated cost: $0.01 (x)"))
    render(Notice("cost", "estimated cost: $0.01 (x)"))  # said once
    render(Notice("cost", "cost: unknown; a timed-out attempt at openai may be billed ~$0.04"))
    assert capsys.readouterr().err.splitlines() == [
        "notice: falling back to dall-e-3", "warning: openai left out: no seed", "estimated cost: $0.01 (x)",
        "cost: unknown; a timed-out attempt at openai may be billed ~$0.04"]


def test_plans_of_one_engine_share_no_candidate_objects(fake_openai, cache_dir):
    """Candidates are built once per model on an engine, but each plan gets its own: a warning one
    plan adds to a candidate never shows in another plan."""
    from aigw.engine import RunOptions
    from aigw.types import ImageRequest

    async def main():  # type: ignore[no-untyped-def]
        async with engine_for_tests(lambda e: None) as engine:
            request = ImageRequest(prompt="a cat", model="gpt-image-1-mini")
            first = engine.plan(request, RunOptions())
            first.first.candidate.warnings.append("only in the first plan")
            second = engine.plan(request, RunOptions())
            return first, second, engine.candidates_memo

    first, second, memo = asyncio.run(main())
    assert memo, "the model's candidates were remembered"
    assert first.first.candidate is not second.first.candidate
    assert "only in the first plan" not in second.first.candidate.warnings
    assert [c.candidate.provider for c in first.items] == [c.candidate.provider for c in second.items]


def test_candidates_of_a_model_a_local_provider_offers_are_built_every_time():
    """Whether a local model's weights are on this machine can change between two runs."""
    from aigw import catalog, settings
    from aigw.engine.planning import _memoisable

    models = catalog.load()
    loaded = settings.load()
    local = [m for m in models.models.values() if "local" in m.providers]
    assert local, "the catalog has a model the local provider serves"
    assert not _memoisable(loaded.settings, local[0])
    remote = [m for m in models.models.values() if "local" not in m.providers and not m.open_params]
    assert _memoisable(loaded.settings, remote[0])
