"""A queue job recorded before aigw was killed is resumed from the run log and never paid twice: the
run log's `jobs` row (RunLog.jobs_for) holds everything the provider needs to poll the job and read
its result, and resuming submits nothing (the fake's submit count stays at the killed run's one)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import httpx

from aigw.clock import SystemClock
from aigw.providers.fal import FalProvider
from aigw.settings.model import ProviderSettings
from aigw.store import open_store
from aigw.types import ImageCall
from tests.fakes.fal import FakeFal
from tests.helpers import db_rows


def test_a_job_recorded_before_a_kill_is_resumed_from_the_run_log_without_submitting(cache_dir):
    with FakeFal() as fake:
        fake.hang_jobs = True  # still running at fal when aigw dies
        env = {**os.environ, "FAL_KEY": "test-key", "AIGW_PROVIDERS__FAL__BASE_URL": fake.base_url}
        proc = subprocess.Popen([sys.executable, "-m", "aigw", "generate", "a red apple", "-m", "flux-schnell"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not any("/status" in r.path for r in fake.requests):
            assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "no status poll within 30 s"
            time.sleep(0.02)
        proc.kill()  # kill -9: no cancel, no last word in the run log
        proc.communicate(timeout=30)
        job = fake.job()
        assert fake.cancelled == [] and fake.submits == 1
        job.hang = False  # the job goes on at fal and finishes

        log = open_store(cache_dir)
        try:
            (run,) = db_rows(cache_dir, "SELECT id, status FROM runs")
            assert run["status"] == "interrupted"  # the killed run, as the next aigw finds it
            (recorded,) = log.jobs_for(run["id"])
        finally:
            log.close()
        assert (recorded.provider, recorded.job_id, recorded.status) == ("fal", job.id, "submitted")
        assert recorded.details["model"] == "fal-ai/flux/schnell" and recorded.updated_at.tzinfo is not None

        async def go() -> object:
            async with httpx.AsyncClient() as client:
                provider = FalProvider("fal", ProviderSettings(api_key="test-key", base_url=fake.base_url), client,
                                       clock=SystemClock())
                call, _ = provider.prepare_image(ImageCall(provider_model="fal-ai/flux/schnell", prompt="a red apple"))
                return await provider.resume_image(call, recorded, timeout=30)

        out = asyncio.run(go())
        assert len(out.images) == 1 and out.images[0].data  # type: ignore[attr-defined]
        assert fake.submits == 1 and fake.cancelled == []  # the killed run's submit only: paid once


def test_jobs_for_reads_a_runs_jobs_in_submit_order_with_their_last_status(cache_dir):
    log = open_store(cache_dir)
    at = datetime(2026, 12, 6, 3, 0, tzinfo=timezone.utc)
    try:
        log.start_run("r1", kind="image", created_at=at, requested_model="m", request={}, estimated_cost_usd=None)
        log.start_run("r2", kind="image", created_at=at, requested_model="m", request={}, estimated_cost_usd=None)
        log.record_job("r1", "runpod", "b-job", "submitted", {"endpoint": "e", "status_url": "u/b"}, at)
        log.record_job("r2", "fal", "other", "submitted", {}, at)
        log.record_job("r1", "runpod", "a-job", "submitted", {"endpoint": "e", "status_url": "u/a"}, at)
        log.record_job("r1", "runpod", "b-job", "completed", {"execution_ms": 12}, at)
        jobs = log.jobs_for("r1")
    finally:
        log.close()
    assert [(j.job_id, j.status) for j in jobs] == [("b-job", "completed"), ("a-job", "submitted")]
    assert jobs[0].details == {"endpoint": "e", "status_url": "u/b", "execution_ms": 12}  # later reports add
    assert jobs[0].run_id == "r1" and jobs[0].updated_at == at
