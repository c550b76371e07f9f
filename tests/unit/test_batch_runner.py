"""The batch runner with the real rate-limit gate on a virtual clock: a batch at --concurrency 8
against a provider held to rpm 20 and max_concurrency 3 never exceeds either in any 60-second
window at the fake, never waits while under them, and says when it waits and until when. Also the
runner's stop (Ctrl-C) and --max-cost stop, and the input parser."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from aigw.batch.items import Item, Malformed, from_paths, parse
from aigw.batch.fingerprint import fingerprint
from aigw.batch.outcome import ItemOutcome
from aigw.batch.progress import Progress
from aigw.batch.runner import Runner, Work
from aigw.events import Event, Waiting
from aigw.router.gate import Gate, Limits
from aigw.store.db import connect
from aigw.store.state import SQLiteRoutingState

START = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


class VirtualClock:
    """Time moves only when every task is asleep: then to the earliest wake-up. So concurrent
    sleepers share one timeline, as they do on a real clock, without any real waiting."""

    def __init__(self) -> None:
        self.t = 0.0
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        return START + timedelta(seconds=self.t)

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.t + max(seconds, 0.0), next(self._seq), fut))
        await fut

    async def drive(self, main: asyncio.Future[object]) -> None:
        while not main.done():
            for _ in range(20):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
            if main.done():
                return
            assert self._heap, "every task is blocked on something other than the clock"
            wake = self._heap[0][0]
            self.t = max(self.t, wake)
            while self._heap and self._heap[0][0] <= wake:
                heapq.heappop(self._heap)[2].set_result(None)


def run_batch_at_fake(tmp_path: Path, *, items: int, concurrency: int, rpm: int, max_concurrency: int,
                      latency: float) -> tuple[list[tuple[float, float, float]], list[Event]]:
    clock = VirtualClock()
    events: list[Event] = []
    gate = Gate(SQLiteRoutingState(connect(tmp_path / "aigw.db")), clock, failures=5, cooldown=60,
                limits={"fake": Limits(rpm, max_concurrency)}, events=events.append)
    seen: list[tuple[float, float, float]] = []  # (asked, started at the fake, ended)

    async def run_item(work: Work) -> ItemOutcome:
        asked = clock.t
        slot, _ = await gate.acquire("fake", remaining=None, hold_s=latency + 5)  # as the router asks
        started = clock.t
        await clock.sleep(latency)  # the provider at work
        gate.release(slot)
        seen.append((asked, started, clock.t))
        return ItemOutcome(work.line, None, 0)

    async def main() -> None:
        runner = Runner(run_item=run_item, concurrency=concurrency, progress=Progress(items, 0.0),
                        on_done=lambda outcome: None)
        task = asyncio.ensure_future(runner.run([Work(n, None, {}) for n in range(1, items + 1)]))
        await clock.drive(task)
        report = await task
        assert report.stopped is None and report.not_started == []

    asyncio.run(main())
    assert len(seen) == items
    return seen, events


def test_limits_hold_in_every_window_and_no_wait_is_needless(tmp_path: Path) -> None:
    rpm, max_conc, latency, tolerance = 20, 3, 2.0, 0.3  # the gate re-asks within 0.25 s when in flight blocks it
    seen, events = run_batch_at_fake(tmp_path, items=70, concurrency=8, rpm=rpm, max_concurrency=max_conc,
                                     latency=latency)
    starts = sorted(s for _, s, _ in seen)

    def in_flight(x: float) -> int:
        return sum(1 for _, s, e in seen if s <= x < e)

    def window(x: float) -> int:  # what the gate counts at x: started, and ended less than 60 s before
        return sum(1 for _, s, e in seen if s <= x and e > x - 60.0)

    # Never over: in any 60-second window at the fake, at most rpm requests began; never more than
    # max_concurrency at once.
    assert max(sum(1 for s in starts if t <= s < t + 60.0) for t in starts) <= rpm
    assert max(in_flight(s) for s in starts) <= max_conc
    # Never waiting while under: a request that waited found a limit full just before it went.
    for asked, started, _ in seen:
        if started - asked > tolerance:
            x = started - tolerance
            assert in_flight(x) >= max_conc or window(x) >= rpm, (asked, started)
    assert len([s for s in starts if s < 60.0]) == rpm  # the first minute was used up to the limit
    # Said when it waited for the limit, and until when.
    waits = [e for e in events if isinstance(e, Waiting) and e.kind == "rate_limit_slot"]
    assert waits and any(e.cause == f"rpm {rpm}" and e.until is not None for e in waits)
    for e in waits:
        if e.until is not None:  # the time it names is when the request then went
            went = min(s for a, s, _ in seen if s >= (e.until - START).total_seconds() - 0.01)
            assert abs(went - (e.until - START).total_seconds()) <= tolerance


def test_concurrency_alone_bounds_a_batch(tmp_path: Path) -> None:
    seen, events = run_batch_at_fake(tmp_path, items=12, concurrency=4, rpm=1000, max_concurrency=100, latency=1.0)
    starts = sorted(s for _, s, _ in seen)
    assert starts == [0.0] * 4 + [1.0] * 4 + [2.0] * 4  # four at a time, none waiting for a slot
    assert not events


def outcomes_runner(costs: dict[int, float], *, max_cost: float | None = None, stop_after: int | None = None,
                    concurrency: int = 2):  # type: ignore[no-untyped-def]
    from aigw.types import Attempt, RunResult

    finished: list[int] = []

    async def run_item(work: Work) -> ItemOutcome:
        await asyncio.sleep(0)
        attempt = Attempt(hop=1, provider="p", provider_model="m", model="m", started_at=START, latency_ms=1,
                          actual_cost_usd=costs.get(work.line, 0.0), served=True)
        result = RunResult(id=f"r{work.line}", kind="image", requested_model="m", model="m", provider="p",
                           provider_model="m", paths=[], cost_usd=attempt.actual_cost_usd, estimated_cost_usd=None,
                           latency_ms=1, created_at=START, attempts=[attempt])
        finished.append(work.line)
        if stop_after is not None and len(finished) == stop_after:
            runner.stop("interrupted")
        return ItemOutcome(work.line, None, 0, result=result)

    runner = Runner(run_item=run_item, concurrency=concurrency, progress=Progress(10, 0.0), on_done=lambda o: None,
                    max_cost=max_cost)
    report = asyncio.run(runner.run([Work(n, None, {}) for n in range(1, 11)]))
    return report, finished, runner.progress


def test_a_stopped_runner_lets_items_in_flight_finish_and_starts_no_more() -> None:
    report, finished, progress = outcomes_runner({}, stop_after=3)
    assert report.stopped == "interrupted"
    assert len(finished) == 4  # the one in flight beside the third finished too
    assert report.not_started == [5, 6, 7, 8, 9, 10] and progress.done == 4


def test_spend_reaching_max_cost_starts_no_more_items() -> None:
    report, finished, progress = outcomes_runner({n: 0.10 for n in range(1, 11)}, max_cost=0.30, concurrency=1)
    assert report.stopped == "max-cost" and finished == [1, 2, 3]
    assert progress.cost_usd == pytest.approx(0.30) and report.not_started == [4, 5, 6, 7, 8, 9, 10]


def test_input_lines_prompts_objects_comments_and_malformed_lines() -> None:
    text = ('a red apple\n\n# a comment\n{"prompt": "a pear", "id": 7, "n": 2, "enhance": "cinematic"}\n'
            '{"prompt": "x", "colour": "red"}\n{not json\n[1, 2]\n{"prompt": ""}\n{"prompt": "y", "n": 0}\n'
            '{"prompt": "z", "seed": "7"}\n  {"prompt": "spaced", "provider": ["fal", "openai"]}  \n')
    parsed = parse(text, "image")
    assert parsed.items == [Item(1, {"prompt": "a red apple"}), Item(4, {"prompt": "a pear", "n": 2, "enhance": "cinematic"}, "7"),
                            Item(7, {"prompt": "[1, 2]"}),  # only a line starting with { is an object
                            Item(11, {"prompt": "spaced", "provider": ["fal", "openai"]})]
    bad = {m.line: m.error for m in parsed.malformed}
    assert sorted(bad) == [5, 6, 8, 9, 10]
    assert "unknown key 'colour'" in bad[5] and "not valid JSON" in bad[6]
    assert "'prompt' is missing" in bad[8] and "n must be at least 1" in bad[9] and "seed must be an integer" in bad[10]
    audio = parse('talk.wav\n{"file": "b.mp3", "language": "de", "format": "srt"}\n{"file": "c.wav", "n": 2}\n', "audio")
    assert [i.fields for i in audio.items] == [{"file": "talk.wav"}, {"file": "b.mp3", "language": "de", "format": "srt"}]
    assert isinstance(audio.entries[2], Malformed)
    assert [i.line for i in from_paths(["a.wav", "b.wav"]).items] == [1, 2]


def test_fingerprint_is_content_kind_and_defaults() -> None:
    base = fingerprint("image", b"a\nb\n", {"model": "gpt-image-2", "seed": None})
    assert base == fingerprint("image", b"a\nb\n", {"model": "gpt-image-2"})  # unset is unset
    assert base != fingerprint("image", b"a\nc\n", {"model": "gpt-image-2"})
    assert base != fingerprint("audio", b"a\nb\n", {"model": "gpt-image-2"})
    assert base != fingerprint("image", b"a\nb\n", {"model": "flux-schnell"})


def test_progress_line_has_counts_cost_rate_and_eta() -> None:
    progress = Progress(total=100, started_at=0.0, done=18, failed=2, in_flight=8, cost_usd=0.15)
    assert progress.line(60.0) == "18/100 done · 2 failed · 8 in flight · $0.150 · 20.0/min · ETA 4m 00s"
    assert Progress(total=5, started_at=0.0).line(1.0) == "0/5 done · 0 failed · 0 in flight · $0 · -/min · ETA -"
