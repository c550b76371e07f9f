"""9.3 with a queue provider: when status polls hang, the whole-attempt bound still ends the attempt
on time, and the job is cancelled at fal (providers/_jobs.py), not left running and billing."""

from __future__ import annotations

import time

from tests.fakes._server import Fault
from tests.fakes.fal import FakeFal
from tests.helpers import db_rows
from tests.hostile.conftest import assert_one_error


def test_a_job_whose_status_polls_hang_is_cancelled_within_the_timeout(cli, cache_dir):
    with FakeFal(key="fal-key-id-0001:fal-secret-0002") as fal:
        fal.hang_jobs = True
        fal.inject(Fault(delay=60), route="/status", times=None)
        env = {"FAL_KEY": "fal-key-id-0001:fal-secret-0002", "AIGW_PROVIDERS__FAL__BASE_URL": fal.base_url,
               "AIGW_ROUTING__RETRIES": "0"}
        started = time.monotonic()
        r = cli("generate", "a red apple", "-m", "flux-schnell", "--timeout", "2", env=env)
        elapsed = time.monotonic() - started
        assert_one_error(r, 4)
        assert elapsed < 8, elapsed  # 60 s per poll unbounded
        rid = fal.job().id
        assert fal.cancelled == [rid]
        assert "fal-secret-0002" not in r.stderr
    (job,) = db_rows(cache_dir, "SELECT status FROM jobs")
    assert job["status"] == "cancelled"
