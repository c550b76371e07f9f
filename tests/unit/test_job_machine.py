"""The queue-job state machine on its own (providers/_jobs.py), with a ten-line queue API and
httpx.MockTransport: submit, record, poll with tolerated failures and Retry-After, read the result,
cancel exactly once; resume without submitting. fal, Replicate and RunPod run on it (their tests)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from aigw import errors
from aigw.clock import FakeClock
from aigw.providers.api import (
    JobMachine,
    ProviderBase,
    QueueAPI,
    QueuedJob,
    RecordedJob,
    Submitted,
    classify,
    json_body,
)
from aigw.settings.model import ProviderSettings

BASE = "http://queue.test"


class Tiny(QueueAPI):
    """GET /jobs/{id} -> {"status": "queued" | "running" | "done", "output": ...}; POST /jobs/{id}/cancel."""

    def __init__(self, provider: ProviderBase) -> None:
        self.p = provider

    def headers(self) -> dict[str, str]:
        return {"Authorization": "Bearer k"}

    def error(self, resp: httpx.Response, job: QueuedJob) -> errors.ProviderError:
        return classify(resp, self.p.name)

    def state(self, resp: httpx.Response, job: QueuedJob) -> dict[str, Any]:
        body = json_body(resp, self.p.name)
        if body.get("status") not in ("queued", "running", "done"):
            raise errors.MalformedReplyError("bad status", provider=self.p.name)
        return dict(body)

    def done(self, state: dict[str, Any], job: QueuedJob) -> bool:
        return state.get("status") == "done"

    async def result(self, job: QueuedJob, state: dict[str, Any], *, timeout: float) -> tuple[Any, int]:
        return state["output"], 0

    def recorded(self, job_id: str, details: dict[str, Any]) -> QueuedJob:
        return QueuedJob(job_id, f"{BASE}/jobs/{job_id}", f"{BASE}/jobs/{job_id}/cancel")


class Script:
    """The queue's answers to status polls, in order (the last one repeats), and what was sent."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.sent: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            return httpx.Response(202, json={})
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def status(name: str, **extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"status": name, **extra})


def machine(script: Script) -> tuple[JobMachine, list[tuple[str, str]], FakeClock]:
    clock = FakeClock(datetime(2026, 12, 6, tzinfo=timezone.utc))
    client = httpx.AsyncClient(transport=httpx.MockTransport(script))
    provider = ProviderBase("tiny", ProviderSettings(api_key="k", base_url=BASE), client, clock=clock)
    reported: list[tuple[str, str]] = []
    provider.on_job = lambda job_id, st, details: reported.append((job_id, st))
    return JobMachine(provider, Tiny(provider)), reported, clock


async def submitted() -> Submitted:
    return Submitted(QueuedJob("j1", f"{BASE}/jobs/j1", f"{BASE}/jobs/j1/cancel"), {"status": "queued"}, 10, 5)


def test_a_job_is_recorded_polled_through_transient_failures_and_read():
    script = Script(status("queued"), httpx.Response(503), httpx.Response(200, text="{not json"),
                    httpx.Response(429, headers={"Retry-After": "4"}), status("running"), status("done", output="ok"))
    m, reported, clock = machine(script)
    done = asyncio.run(m.run(submitted, timeout=60))
    assert done.output == "ok" and (done.sent, done.http_status) == (10, 200)
    assert reported == [("j1", "submitted")]  # Tiny's result() records nothing more
    assert 4.0 in clock.slept  # the poll's Retry-After waited out
    assert script.sent.count("GET /jobs/j1") == 6 and "POST /jobs/j1/cancel" not in script.sent


def test_a_job_that_runs_out_of_time_is_cancelled_exactly_once():
    script = Script(status("running"))
    m, reported, _ = machine(script)
    with pytest.raises(errors.RetryableError, match="did not finish within 5 s; cancelled it"):
        asyncio.run(m.run(submitted, timeout=5))
    assert script.sent.count("POST /jobs/j1/cancel") == 1
    assert reported == [("j1", "submitted"), ("j1", "cancelled")]


def test_too_many_failed_polls_in_a_row_give_up_and_cancel():
    script = Script(httpx.Response(502))
    m, reported, _ = machine(script)
    with pytest.raises(errors.RetryableError):
        asyncio.run(m.run(submitted, timeout=600))
    assert script.sent.count("GET /jobs/j1") == 6 and script.sent.count("POST /jobs/j1/cancel") == 1
    assert reported[-1] == ("j1", "cancelled")


def test_resume_polls_without_submitting_and_a_404_there_is_final():
    script = Script(status("running"), status("done", output="kept"))
    m, reported, _ = machine(script)
    rec = RecordedJob(run_id="r", provider="tiny", job_id="j9", status="submitted", details={},
                      updated_at=datetime(2026, 12, 6, tzinfo=timezone.utc))
    assert asyncio.run(m.resume(rec, timeout=60)).output == "kept"
    assert reported == [("j9", "resumed")] and all(s.startswith("GET") for s in script.sent)

    gone = Script(httpx.Response(404))
    m, reported, _ = machine(gone)
    with pytest.raises(errors.JobGoneError):
        asyncio.run(m.resume(rec, timeout=60))
    assert gone.sent == ["GET /jobs/j9"] and reported == [("j9", "resumed"), ("j9", "expired")]
