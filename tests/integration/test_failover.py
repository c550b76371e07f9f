"""Fault injection through the whole CLI: what aigw does with each failure class, and what it logs."""

from __future__ import annotations

import email.utils
import json
import time
from pathlib import Path

import pytest

from tests.fakes._server import Fault
from tests.fakes.openai import insufficient_quota
from tests.helpers import db_rows
from tests.integration.conftest import closed_port_url

IMAGES = "/images/generations"


def run_json(cli, *args):
    r = cli("generate", "x", "-m", "gpt-image-2", "--json", *args)
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


def classes(data):
    return [(a["provider"], a["failure_class"]) for a in data["attempts"]]


def test_primary_500_fails_over_to_secondary_with_both_attempts_listed(cli, pair):
    pair.primary.inject(Fault.http(500), route=IMAGES, times=None)
    r, data = run_json(cli)
    assert r.code == 0, r.stderr
    assert data["provider"] == "secondary"
    assert classes(data) == [("primary", "retryable"), ("secondary", None)]
    assert data["attempts"][1]["served"] is True and data["attempts"][1]["hop"] == 2
    assert Path(data["paths"][0]).is_file()


def test_failover_does_not_sleep_before_switching(cli, pair):
    pair.primary.inject(Fault.http(503), route=IMAGES, times=None)
    started = time.monotonic()
    r, data = run_json(cli)
    assert r.code == 0 and data["attempts"][1]["waited_s"] == 0
    assert time.monotonic() - started < 5  # no backoff (which would be at least 0.5 s times retries)


def test_connection_refused_fails_over(cli, pair):
    pair.configure(primary_url=closed_port_url())
    r, data = run_json(cli)
    assert r.code == 0, r.stderr
    assert classes(data) == [("primary", "retryable"), ("secondary", None)]
    assert "connect" in data["attempts"][0]["error"]


def test_reset_in_the_middle_of_the_body_fails_over(cli, pair):
    pair.primary.inject(Fault(reset=True), route=IMAGES)
    r, data = run_json(cli)
    assert r.code == 0, r.stderr
    assert classes(data)[0] == ("primary", "retryable")


def test_a_hang_past_the_timeout_fails_over(cli, pair):
    pair.primary.inject(Fault(hang=True), route=IMAGES)
    r, data = run_json(cli, "--timeout", "0.5")
    assert r.code == 0, r.stderr
    assert classes(data)[0] == ("primary", "timeout") and "timed out" in data["attempts"][0]["error"]


@pytest.mark.parametrize("fault", [Fault(empty=True), Fault(malformed=True)], ids=["empty-data", "malformed-json"])
def test_a_200_without_an_image_fails_over(cli, pair, fault):
    pair.primary.inject(fault, route=IMAGES)
    r, data = run_json(cli)
    assert r.code == 0, r.stderr
    assert data["provider"] == "secondary"
    assert classes(data)[0][1] in ("empty_result", "retryable")


def test_401_fails_over_and_opens_the_circuit_at_once(cli, pair, cache_dir):
    pair.primary.inject(Fault.http(401), route=IMAGES, times=None)
    r, data = run_json(cli)
    assert r.code == 0 and classes(data)[0] == ("primary", "auth")
    circuit = db_rows(cache_dir, "SELECT * FROM circuits WHERE provider = 'primary'")[0]
    assert circuit["open_until"] is not None
    # The next invocation sends nothing to the failing provider until the cooldown ends.
    before = pair.primary.count(IMAGES)
    r, data = run_json(cli)
    assert r.code == 0 and data["provider"] == "secondary"
    assert pair.primary.count(IMAGES) == before
    assert classes(data) == [("secondary", None)]
    assert "circuit open" in r.stderr


def test_insufficient_quota_is_never_retried_and_fails_over(cli, pair):
    pair.primary.inject(insufficient_quota(), route=IMAGES, times=None)
    r, data = run_json(cli)
    assert r.code == 0 and classes(data) == [("primary", "quota"), ("secondary", None)]
    assert pair.primary.count(IMAGES) == 1


def test_content_refusal_stops_with_exit_5_and_does_not_try_the_secondary(cli, pair, cache_dir):
    r = cli("generate", "something forbidden", "-m", "gpt-image-2", "--json")
    assert r.code == 5
    assert pair.secondary.count(IMAGES) == 0
    assert [a["failure_class"] for a in db_rows(cache_dir, "SELECT * FROM attempts")] == ["content_refused"]
    assert db_rows(cache_dir, "SELECT status, exit_code FROM runs")[0]["exit_code"] == 5


def test_fallback_on_refusal_tries_the_next_provider(cli, pair):
    pair.primary.inject(Fault.http(400, {"error": {"message": "Your request was rejected as a result of our "
                                                  "safety system.", "type": "image_generation_user_error",
                                                  "param": None, "code": "moderation_blocked"}}), route=IMAGES)
    r, data = run_json(cli, "--fallback-on-refusal")
    assert r.code == 0, r.stderr
    assert classes(data) == [("primary", "content_refused"), ("secondary", None)]


def test_bad_request_stops_with_exit_2(cli, pair):
    pair.primary.inject(Fault.http(400), route=IMAGES)
    r, _ = run_json(cli)
    assert r.code == 2
    assert pair.secondary.count(IMAGES) == 0


def test_413_is_a_bad_request_exit_2_and_not_retried(cli, pair, speech_wav):
    pair.primary.max_body_bytes = 1000
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1")
    assert r.code == 2 and "413" in r.stderr
    assert pair.secondary.count("/audio/transcriptions") == 0


def test_last_candidate_500_then_200_is_retried_with_backoff(cli, pair):
    pair.configure(primary_extra="enabled = false")
    pair.secondary.inject(Fault.http(500), route=IMAGES)
    r, data = run_json(cli)
    assert r.code == 0, r.stderr
    assert classes(data) == [("secondary", "retryable"), ("secondary", None)]
    assert 0 <= data["attempts"][1]["waited_s"] <= 0.5


def test_every_provider_down_is_exit_4_with_every_attempt_logged(cli, pair, cache_dir):
    pair.primary.inject(Fault.http(502), route=IMAGES, times=None)
    pair.secondary.inject(Fault.http(503), route=IMAGES, times=None)
    r, _ = run_json(cli)
    assert r.code == 4
    rows = db_rows(cache_dir, "SELECT provider, failure_class, http_status FROM attempts ORDER BY hop")
    assert [row["provider"] for row in rows] == ["primary", "secondary", "secondary", "secondary"]
    assert {row["http_status"] for row in rows} == {502, 503}
    assert db_rows(cache_dir, "SELECT status FROM runs")[0]["status"] == "failed"


# ---- rate limits and Retry-After -------------------------------------------------------------


@pytest.mark.parametrize("headers", [{"retry-after-ms": "300"}, {"Retry-After": "1"},
                                     {"x-ratelimit-reset-requests": "300ms"}],
                         ids=["retry-after-ms", "retry-after-seconds", "x-ratelimit-reset"])
def test_429_on_the_primary_waits_when_it_fits_the_deadline(cli, pair, headers):
    pair.primary.inject(Fault(status=429, headers=headers), route=IMAGES)
    r, data = run_json(cli, "--deadline", "10")
    assert r.code == 0, r.stderr
    assert classes(data) == [("primary", "rate_limited"), ("primary", None)]
    advised = data["attempts"][0]["retry_after_s"]
    assert advised == pytest.approx(data["attempts"][1]["waited_s"])
    assert 0.2 <= advised <= 1.0


def test_429_with_an_http_date_is_honoured(cli, pair):
    when = email.utils.formatdate(time.time() + 2, usegmt=True)
    pair.primary.inject(Fault(status=429, headers={"Retry-After": when}), route=IMAGES)
    r, data = run_json(cli, "--deadline", "10")
    assert r.code == 0, r.stderr
    assert 0 < data["attempts"][0]["retry_after_s"] <= 2


def test_429_retry_after_2_with_deadline_10_waits_and_retries_the_primary(cli, pair):
    pair.primary.inject(Fault(status=429, headers={"Retry-After": "2"}), route=IMAGES)
    started = time.monotonic()
    r, data = run_json(cli, "--deadline", "10")
    assert r.code == 0 and data["provider"] == "primary"
    assert data["attempts"][1]["waited_s"] == pytest.approx(2.0)
    assert time.monotonic() - started >= 2.0


def test_429_retry_after_2_with_deadline_1_goes_to_the_secondary_at_once(cli, pair):
    pair.primary.inject(Fault(status=429, headers={"Retry-After": "2"}), route=IMAGES)
    started = time.monotonic()
    r, data = run_json(cli, "--deadline", "1")
    assert r.code == 0 and data["provider"] == "secondary"
    assert data["attempts"][1]["waited_s"] == 0
    assert time.monotonic() - started < 1.5
