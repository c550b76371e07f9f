"""The typed run events: who emits what (router, gate, job polling), and how the terminal status
line and the plain slot-wait line render them. Fake clocks; no sleeping, no network."""

from __future__ import annotations

import asyncio
import io
from datetime import datetime, timedelta, timezone

import pytest

from aigw import errors
from aigw.cli.output import UI
from aigw.cli.status import PlainWaits, StatusLine, sink_for, slot_wait_message
from aigw.clock import FakeClock
from aigw.events import AttemptFinished, AttemptStarted, Event, JobStatus, Notice, Waiting, no_events
from aigw.providers._jobs import PollState
from aigw.router.gate import Gate, Limits
from aigw.types import Attempt

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def attempt(*, served: bool, failure_class: str | None = None) -> Attempt:
    return Attempt(hop=1, provider="openai", provider_model="gpt-image-1-mini", model="gpt-image-1-mini",
                   started_at=NOON, latency_ms=10.0, served=served, failure_class=failure_class)


# ---- emitters ----------------------------------------------------------------------------------

class SlotState:
    """A RoutingState whose rate limit answers (None, wait) for each of `waits`, then a slot."""

    def __init__(self, waits: list[float]) -> None:
        self.waits = list(waits)

    def try_acquire(self, provider: str, **kw: object) -> tuple[int | None, float]:
        return (None, self.waits.pop(0)) if self.waits else (7, 0.0)

    def release(self, slot: int, *, now: float) -> None:
        pass


def gate_events(limits: Limits, waits: list[float]) -> tuple[list[Event], float]:
    seen: list[Event] = []
    gate = Gate(SlotState(waits), FakeClock(NOON), failures=3, cooldown=30, limits={"openai": limits},  # type: ignore[arg-type]
                events=seen.append)
    slot, waited = asyncio.run(gate.acquire("openai", remaining=None, hold_s=10))
    assert slot == 7
    return seen, waited


def test_a_long_rpm_wait_is_one_waiting_event_with_its_end():
    seen, waited = gate_events(Limits(rpm=30), [2.5])
    assert waited == 2.5
    assert seen == [Waiting("openai", "rate_limit_slot", "rpm 30", 2.5, NOON + timedelta(seconds=2.5))]


def test_short_waits_say_nothing_until_they_add_up_to_more_than_a_second():
    seen, _ = gate_events(Limits(max_concurrency=2), [0.05] * 10)
    assert seen == []  # half a second in all
    seen, _ = gate_events(Limits(max_concurrency=2), [0.05] * 30)
    assert seen == [Waiting("openai", "rate_limit_slot", "max_concurrency 2")]  # once; its end is unknown


def test_with_both_limits_the_recheck_interval_tells_which_one_blocks():
    assert gate_events(Limits(rpm=5, max_concurrency=1), [0.05] * 30)[0][0].cause == "max_concurrency 1"
    assert gate_events(Limits(rpm=5, max_concurrency=1), [0.25] * 6)[0][0].cause == "rpm 5"


def test_the_router_emits_attempts_and_the_retry_after_wait():
    from aigw.router.run import Failover, Policy
    from tests.unit.test_router import cands  # the router tests' candidate builder

    seen: list[Event] = []
    clock = FakeClock(NOON)
    calls = 0

    async def drive() -> None:
        # As the engine drives it: the engine emits each attempt the policy returns.
        nonlocal calls
        failover = Failover(cands("openai"), clock=clock, policy=Policy(retries=2), events=seen.append)
        while True:
            await failover.next_turn()
            calls += 1
            if calls == 1:
                seen.append(AttemptFinished(failover.failed(errors.RateLimitedError("slow down", retry_after=2.0,
                                                                                   status=429), estimated_cost_usd=None)))
                continue
            seen.append(AttemptFinished(failover.served(estimated_cost_usd=None, actual_cost_usd=None, bytes_up=0,
                                                        bytes_down=0, http_status=200)))
            return

    asyncio.run(drive())
    seen[:] = [e for e in seen if not isinstance(e, Notice)]  # the retry's stderr line is a Notice
    kinds = [type(e).__name__ for e in seen]
    assert kinds == ["AttemptStarted", "AttemptFinished", "Waiting", "AttemptStarted", "AttemptFinished"]
    assert seen[0] == AttemptStarted("openai", "gpt-image-2", 1, "gpt-image-2")
    assert seen[2] == Waiting("openai", "retry", "429, Retry-After 2 s", 2.0, NOON + timedelta(seconds=2))
    assert seen[3].hop == 2  # type: ignore[union-attr]
    assert [e.attempt.served for e in seen if isinstance(e, AttemptFinished)] == [False, True]


def test_polling_emits_each_new_status_and_position_once():
    seen: list[Event] = []
    poll = PollState(clock=FakeClock(NOON), timeout=60, events=seen.append, provider="fal", job_id="r1")
    for status in ({"status": "IN_QUEUE", "queue_position": 2}, {"status": "IN_QUEUE", "queue_position": 2},
                   {"status": "IN_QUEUE", "queue_position": 0}, {"status": "IN_PROGRESS"}, {"status": "IN_PROGRESS"}):
        poll.seen(status, 10)
    assert seen == [JobStatus("fal", "r1", "IN_QUEUE", 2), JobStatus("fal", "r1", "IN_QUEUE", 0),
                    JobStatus("fal", "r1", "IN_PROGRESS")]


def test_a_rate_limited_poll_emits_its_wait():
    seen: list[Event] = []
    clock = FakeClock(NOON)
    poll = PollState(clock=clock, timeout=60, events=seen.append, provider="replicate", job_id="p1",
                     initial={"status": "starting"})
    last = asyncio.run(poll.failed(errors.RateLimitedError("429", retry_after=3.0, status=429)))
    assert last == {"status": "starting"} and clock.slept == [3.0]
    assert seen == [Waiting("replicate", "poll", "status poll: 429, Retry-After 3 s", 3.0)]


# ---- the live line -----------------------------------------------------------------------------

def terminal() -> tuple[StatusLine, Ticker, io.StringIO]:
    from rich.console import Console

    out = io.StringIO()
    ticker = Ticker()
    console = Console(file=out, force_terminal=True, width=160, color_system=None)
    return StatusLine(console, monotonic=ticker), ticker, out


def test_the_line_shows_provider_elapsed_and_the_queue():
    line, ticker, out = terminal()
    try:
        line(AttemptStarted("fal", "flux-schnell", 1))
        ticker.t += 1.25
        line(JobStatus("fal", "r1", "IN_QUEUE", 3))
        assert line.text() == "fal · flux-schnell · 1.2 s · IN_QUEUE, position 3"
        ticker.t += 2
        line(JobStatus("fal", "r1", "IN_PROGRESS"))
        assert line.text() == "fal · flux-schnell · 3.2 s · IN_PROGRESS"
        assert "fal · flux-schnell · 1.2 s · IN_QUEUE, position 3" in out.getvalue()  # drawn on the console
    finally:
        line.close()


def test_a_failed_attempt_then_its_retry_wait_and_cause():
    line, ticker, _ = terminal()
    try:
        line(AttemptStarted("openai", "gpt-image-1-mini", 1))
        ticker.t += 0.3
        line(AttemptFinished(attempt(served=False, failure_class="rate_limited")))
        assert line.text() == "openai · gpt-image-1-mini · 0.3 s · rate_limited"  # until the router decides
        line(Waiting("openai", "retry", "429, Retry-After 2 s", 2.0))
        ticker.t += 0.5
        assert line.text() == "openai · gpt-image-1-mini · 0.8 s · 429, Retry-After 2 s; retrying in 1.5 s"
        line(AttemptStarted("openai", "gpt-image-1-mini", 2))
        assert line.text() == "openai · gpt-image-1-mini · attempt 2 · 0.0 s"
    finally:
        line.close()


def test_a_slot_wait_names_the_limit_and_its_end():
    line, ticker, _ = terminal()
    until = NOON + timedelta(seconds=30)
    try:
        line(Waiting("openai", "rate_limit_slot", "rpm 30", 30.0, until))
        ticker.t += 4
        assert line.text() == (f"waiting for a rate-limit slot at openai (rpm 30) until "
                               f"{until.astimezone():%H:%M:%S} · 4.0 s")
    finally:
        line.close()


def test_the_line_is_erased_when_the_attempt_is_served_and_stderr_given_back():
    import sys

    line, _, out = terminal()
    stderr = sys.stderr
    line(AttemptStarted("openai", "gpt-image-1-mini", 1))
    assert sys.stderr is not stderr  # notices printed meanwhile go above the line
    line(AttemptFinished(attempt(served=True)))
    assert sys.stderr is stderr
    assert out.getvalue().endswith("\x1b[?25h\r\x1b[1A\x1b[2K")  # transient: cursor back, the line erased
    line.close()  # again: harmless


def test_the_sink_follows_quiet_and_the_terminal(monkeypatch):
    assert sink_for(UI(quiet=True)) is no_events
    assert isinstance(sink_for(UI()), PlainWaits)  # pytest's stderr is not a terminal
    monkeypatch.setattr("aigw.cli.status.stderr_is_terminal", lambda: True)
    assert isinstance(sink_for(UI()), StatusLine)
    assert sink_for(UI(quiet=True)) is no_events


def test_off_a_terminal_only_the_slot_wait_is_said(capsys):
    sink = PlainWaits(UI())
    until = NOON + timedelta(seconds=2)
    sink(AttemptStarted("openai", "gpt-image-1-mini", 1))
    sink(JobStatus("fal", "r1", "IN_QUEUE", 1))
    sink(Waiting("openai", "retry", "429, Retry-After 2 s", 2.0))
    sink(Waiting("openai", "rate_limit_slot", "max_concurrency 1"))
    sink(Waiting("openai", "rate_limit_slot", "rpm 3", 2.0, until))
    assert capsys.readouterr().err == (
        "notice: waiting for a rate-limit slot at openai (max_concurrency 1) until a request in flight ends\n"
        f"notice: {slot_wait_message(Waiting('openai', 'rate_limit_slot', 'rpm 3', 2.0, until))}\n")
    assert slot_wait_message(Waiting("openai", "rate_limit_slot", "rpm 3", 2.0, until)).endswith(
        f"(rpm 3) until {until.astimezone():%H:%M:%S}")


@pytest.mark.parametrize("quiet", [True, False])
def test_quiet_silences_the_plain_line(capsys, quiet):
    sink_for(UI(quiet=quiet))(Waiting("openai", "rate_limit_slot", "rpm 3"))
    assert bool(capsys.readouterr().err) is not quiet


@pytest.mark.parametrize("ending", ["error", "interrupt"])
def test_run_async_erases_the_line_when_the_run_fails_or_is_interrupted(monkeypatch, ending):
    import sys

    from aigw.cli import status
    from aigw.cli.common import run_async

    line, _, out = terminal()
    monkeypatch.setattr(status, "_open", [line])
    stderr = sys.stderr

    async def run() -> None:
        line(AttemptStarted("fal", "flux-schnell", 1))
        line(JobStatus("fal", "r1", "IN_QUEUE", 4))
        raise KeyboardInterrupt if ending == "interrupt" else errors.NoProviderSucceeded("none left")

    with pytest.raises(errors.Interrupted if ending == "interrupt" else errors.NoProviderSucceeded):
        run_async(run())
    assert status._open == [] and sys.stderr is stderr
    assert "IN_QUEUE, position 4" in out.getvalue() and out.getvalue().endswith("\x1b[2K")


def test_help_loads_neither_the_status_line_nor_rich_live():
    import subprocess
    import sys

    probe = ("import sys\nfrom aigw.cli.main import run\ntry:\n    run(['generate', '--help'])\nexcept SystemExit:\n"
             "    pass\nprint('LOADED', sorted(m for m in ('rich.live', 'rich.spinner', 'aigw.cli.status') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout
    assert out.splitlines()[-1] == "LOADED []"


def test_a_polls_retry_after_never_runs_past_the_attempts_time():
    clock = FakeClock(NOON)
    poll = PollState(clock=clock, timeout=10, provider="replicate", job_id="p1")
    asyncio.run(clock.sleep(8))  # 8 of the attempt's 10 s already spent polling
    asyncio.run(poll.failed(errors.RateLimitedError("429", retry_after=30.0, status=429)))
    assert clock.slept == [8, 2.0]
