"""The failover policy, on a fake clock: nothing here sleeps for real. `run` drives it as the
engine does (aigw/engine/run.py): next_turn, call, then failed or served."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import pytest

from aigw import errors
from aigw.catalog import load
from aigw.clock import FakeClock
from aigw.events import Notice
from aigw.router.candidates import Candidate
from aigw.router.run import BACKOFF_CAP_S, RETRY_AFTER_CAP_S, Failover, Policy, backoff


def cands(*names: str) -> list[Candidate]:
    model = load().require("gpt-image-2")
    return [Candidate(n, "openai", model, model.providers["openai"], model) for n in names]


@dataclass
class Out:
    value: object
    candidate: Candidate


@dataclass
class Maker:
    """What a test sets up: a policy and a clock; each run gets a fresh Failover, as each engine run does."""

    policy: Policy
    clock: FakeClock
    attempts: list
    notes: list

    def failover(self, candidates) -> Failover:
        def events(event) -> None:
            if isinstance(event, Notice):
                self.notes.append(event.text)

        return Failover(candidates, clock=self.clock, policy=self.policy, rng=random.Random(1), events=events)


def run(maker: Maker, candidates, script):
    """`script[provider]` is a list of outcomes: an exception to raise or a value to return."""

    async def drive():
        failover = maker.failover(candidates)
        while True:
            turn = await failover.next_turn()
            outcome = script[turn.candidate.provider].pop(0)
            if isinstance(outcome, errors.ProviderError):
                maker.attempts.append(failover.failed(outcome, estimated_cost_usd=0.01))
                continue
            maker.attempts.append(failover.served(estimated_cost_usd=0.01, actual_cost_usd=0.02, bytes_up=1,
                                                  bytes_down=2, http_status=200))
            return Out(outcome, turn.candidate)

    return asyncio.run(drive())


def make(policy: Policy | None = None, clock: FakeClock | None = None):
    clock = clock or FakeClock()
    maker = Maker(policy or Policy(), clock, [], [])
    return maker, clock, maker.attempts, maker.notes


def test_retryable_moves_to_the_next_candidate_without_sleeping():
    router, clock, attempts, _ = make()
    out = run(router, cands("a", "b"), {"a": [errors.RetryableError("500")], "b": ["ok"]})
    assert out.value == "ok" and out.candidate.provider == "b" and clock.slept == []
    assert [(a.provider, a.failure_class, a.served) for a in attempts] == [("a", "retryable", False), ("b", None, True)]


def test_the_last_candidate_is_retried_with_jittered_backoff_up_to_retries():
    router, clock, attempts, _ = make(Policy(retries=2))
    with pytest.raises(errors.NoProviderSucceeded):
        run(router, cands("a"), {"a": [errors.RetryableError("500")] * 3})
    assert len(attempts) == 3 and len(clock.slept) == 2
    assert all(0 <= s <= 0.5 * 2 ** i for i, s in enumerate(clock.slept))


def test_retry_before_failover_retries_the_first_candidate_first():
    router, clock, attempts, _ = make(Policy(retries=1, retry_before_failover=True))
    out = run(router, cands("a", "b"), {"a": [errors.RetryableError("500"), "ok"], "b": []})
    assert out.candidate.provider == "a" and len(clock.slept) == 1


def test_rate_limit_waits_when_retry_after_fits_the_deadline():
    router, clock, attempts, _ = make(Policy(deadline_s=10))
    out = run(router, cands("a", "b"), {"a": [errors.RateLimitedError("429", retry_after=2.0), "ok"], "b": []})
    assert out.candidate.provider == "a" and clock.slept == [2.0]
    assert attempts[1].waited_s == 2.0 and attempts[0].retry_after_s == 2.0


def test_rate_limit_moves_on_when_retry_after_exceeds_the_deadline():
    router, clock, _, _ = make(Policy(deadline_s=1))
    out = run(router, cands("a", "b"), {"a": [errors.RateLimitedError("429", retry_after=2.0)], "b": ["ok"]})
    assert out.candidate.provider == "b" and clock.slept == []


def test_a_long_retry_after_is_honoured_not_capped_when_the_deadline_allows():
    router, clock, _, _ = make(Policy(deadline_s=600))
    run(router, cands("a"), {"a": [errors.RateLimitedError("429", retry_after=300.0), "ok"]})
    assert clock.slept == [300.0]


def test_with_no_deadline_an_absurd_retry_after_is_not_waited_for():
    # A 429 saying Retry-After: 999999 parked a run (and a batch's SIGTERM, which lets items in
    # flight finish) for 11 days: with no deadline the wait is bounded, and the run says why it stops.
    router, clock, attempts, _ = make(Policy(retries=2))
    with pytest.raises(errors.NoProviderSucceeded):
        run(router, cands("a"), {"a": [errors.RateLimitedError("429", retry_after=999999.0), "ok"]})
    assert clock.slept == [] and attempts[0].retry_after_s == 999999.0
    router, clock, _, _ = make(Policy(retries=2))
    run(router, cands("a"), {"a": [errors.RateLimitedError("429", retry_after=RETRY_AFTER_CAP_S), "ok"]})
    assert clock.slept == [RETRY_AFTER_CAP_S]


@pytest.mark.parametrize("exc", [errors.EmptyResultError("empty"), errors.AuthError("401"),
                                 errors.QuotaExceededError("quota"), errors.ModelUnavailableError("404")])
def test_empty_auth_quota_and_missing_model_move_on_without_retrying(exc):
    router, clock, attempts, _ = make(Policy(retries=5))
    out = run(router, cands("a", "b"), {"a": [exc], "b": ["ok"]})
    assert out.candidate.provider == "b" and len(attempts) == 2 and clock.slept == []


def test_bad_request_stops_at_once():
    router, _, attempts, _ = make()
    with pytest.raises(errors.BadRequestError):
        run(router, cands("a", "b"), {"a": [errors.BadRequestError("400")], "b": ["ok"]})
    assert len(attempts) == 1


def test_refusal_stops_unless_fallback_on_refusal():
    router, _, _, _ = make()
    with pytest.raises(errors.ContentRefusedError):
        run(router, cands("a", "b"), {"a": [errors.ContentRefusedError("no")], "b": ["ok"]})
    router, _, _, _ = make(Policy(fallback_on_refusal=True))
    assert run(router, cands("a", "b"), {"a": [errors.ContentRefusedError("no")], "b": ["ok"]}).value == "ok"


def test_the_deadline_stops_retries():
    clock = FakeClock()
    router, clock, attempts, _ = make(Policy(deadline_s=1.0, retries=50), clock)
    with pytest.raises(errors.NoProviderSucceeded):
        run(router, cands("a"), {"a": [errors.RetryableError("500")] * 60})
    assert sum(clock.slept) < 1.0


def test_full_jitter_backoff_is_bounded_by_the_cap():
    rng = random.Random(7)
    assert all(0 <= backoff(n, rng) <= BACKOFF_CAP_S for n in range(20))
