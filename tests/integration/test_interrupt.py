"""Ctrl-C during a queued job: aigw cancels the job at the provider, logs the run as interrupted,
and exits 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.fakes.fal import FakeFal
from tests.helpers import db_rows


def test_ctrl_c_while_polling_cancels_the_job_and_exits_130(cache_dir, monkeypatch):
    with FakeFal() as fake:
        fake.hang_jobs = True
        env = {**os.environ, "FAL_KEY": "test-key", "AIGW_PROVIDERS__FAL__BASE_URL": fake.base_url}
        env.pop("FAL_REST_HOST", None)
        proc = subprocess.Popen([sys.executable, "-m", "aigw", "generate", "a red apple", "-m", "flux-schnell"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while not any("/status" in r.path for r in fake.requests) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err.decode()
        assert out == b""
        rid = fake.job().id
        assert fake.cancelled == [rid]
    (job,) = db_rows(cache_dir, "SELECT * FROM jobs")
    assert job["job_id"] == rid and job["status"] == "cancelled"
    (run,) = db_rows(cache_dir, "SELECT * FROM runs")
    assert run["status"] == "interrupted" and run["exit_code"] == 130
    assert "interrupted" in err.decode()
