"""The live status line end to end: aigw run under a pseudo-terminal (stderr only; stdout stays a
pipe) against the loopback fakes, and in-process with stderr a pipe, where only a long rate-limit
slot wait is said, as one plain line, and -q says nothing."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from aigw.events import Event, JobStatus
from tests.fakes._server import Fault
from tests.fakes.openai import rate_limited

SPINNER_LINE = re.compile(r"[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] ([^\r\n\x1b]*)")
COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def run_in_pty(*args: str, timeout: float = 60) -> tuple[int, str, str]:
    """aigw with stderr on a pty (40x200) and stdout a pipe: (exit code, stdout, what the terminal got
    without its colours)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200"}
    proc = subprocess.Popen([sys.executable, "-m", "aigw", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    got = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            got += chunk
    finally:
        os.close(master)
    out = proc.stdout.read() if proc.stdout else b""
    code = proc.wait(timeout=10)
    return code, out.decode(), COLOUR.sub("", got.decode(errors="replace"))  # cursor moves kept


def drawn(term: str) -> list[str]:
    """Every state of the status line the terminal was sent (spinner frame stripped)."""
    return [m.group(1).rstrip() for m in SPINNER_LINE.finditer(term)]


def test_a_429_shows_its_retry_after_then_the_retry_and_vanishes(fake_openai):
    fake_openai.inject(rate_limited(retry_after=1), route="/images/generations")
    fake_openai.inject(Fault.slow(0.3), route="/images/generations")
    code, out, term = run_in_pty("generate", "a cat", "-m", "gpt-image-1-mini")
    assert code == 0, term
    (path,) = out.splitlines()  # stdout: the path only, nothing of the status line
    assert Path(path).is_file()
    states = drawn(term)
    assert any(re.fullmatch(r"openai · gpt-image-1-mini · \d+\.\d s · 429, Retry-After 1 s; "
                            r"retrying in \d\.\d s", s) for s in states), states
    assert any(re.fullmatch(r"openai · gpt-image-1-mini · attempt 2 · \d+\.\d s", s) for s in states), states
    # The notice went above the line, on a line of its own; the line was erased before the cost line.
    assert re.search(r"(^|\n|\x1b\[2K)notice: openai: rate_limited; retrying in 1\.0 s\r?\n", term), term
    tail = term[term.rindex("attempt 2"):]
    assert "\x1b[2K" in tail[:tail.index("cost: ")], tail


def test_a_queued_fal_job_shows_its_position_then_progress(monkeypatch):
    from tests.fakes.fal import FakeFal

    with FakeFal(queued_polls=2, running_polls=1) as fake:
        monkeypatch.setenv("FAL_KEY", "test-key")
        monkeypatch.setenv("AIGW_PROVIDERS__FAL__BASE_URL", fake.base_url)
        code, out, term = run_in_pty("generate", "a fox", "-m", "flux-schnell")
    assert code == 0, term
    assert len(out.splitlines()) == 1
    states = drawn(term)
    for shown in ("IN_QUEUE, position 1", "IN_QUEUE, position 0", "IN_PROGRESS"):
        assert any(re.fullmatch(rf"fal · flux-schnell · \d+\.\d s · {shown}", s) for s in states), (shown, states)


def test_quiet_on_a_terminal_draws_nothing(fake_openai):
    fake_openai.inject(rate_limited(retry_after=0.2), route="/images/generations")
    code, out, term = run_in_pty("-q", "generate", "a cat", "-m", "gpt-image-1-mini")
    assert code == 0 and len(out.splitlines()) == 1
    assert term == ""


# ---- stderr a pipe (in-process) -----------------------------------------------------------------

def hold_rpm_slot(cache_dir: Path, provider: str, *, ended_ago: float) -> None:
    """Another process's request to `provider` that ended `ended_ago` seconds ago."""
    from aigw.store import open_store

    log = open_store(cache_dir)
    then = time.time() - ended_ago
    slot, _ = log.state.try_acquire(provider, now=then, rpm=None, max_concurrency=1, hold_s=1, pid=1)
    assert slot is not None
    log.state.release(slot, now=then)


def test_in_a_pipe_a_429_retry_adds_nothing_but_the_usual_notice(cli, fake_openai):
    fake_openai.inject(rate_limited(retry_after=0.2), route="/images/generations")
    r = cli("generate", "a cat", "-m", "gpt-image-1-mini")
    assert r.code == 0, r.stderr
    lines = r.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == ["estimated cost", "notice", "cost"], lines
    assert "\x1b" not in r.stderr and "⠋" not in r.stderr


def test_in_a_pipe_a_slot_wait_is_one_plain_line_with_its_reason_and_end(cli, fake_openai, cache_dir, monkeypatch):
    monkeypatch.setenv("AIGW_PROVIDERS__OPENAI__RPM", "1")
    hold_rpm_slot(cache_dir, "openai", ended_ago=57.8)  # the window frees 2.2 s from now (start-up eats some)
    r = cli("generate", "a cat", "-m", "gpt-image-1-mini")
    assert r.code == 0, r.stderr
    waits = [line for line in r.stderr.splitlines() if "rate-limit slot" in line]
    assert len(waits) == 1, r.stderr
    assert re.fullmatch(r"notice: waiting for a rate-limit slot at openai \(rpm 1\) until \d\d:\d\d:\d\d", waits[0])


def test_quiet_in_a_pipe_says_nothing_about_the_slot_wait(cli, fake_openai, cache_dir, monkeypatch):
    monkeypatch.setenv("AIGW_PROVIDERS__OPENAI__RPM", "1")
    hold_rpm_slot(cache_dir, "openai", ended_ago=58.6)
    r = cli("-q", "generate", "a cat", "-m", "gpt-image-1-mini")
    assert r.code == 0 and r.stderr == ""


# ---- queue providers' statuses reach the sink --------------------------------------------------

@pytest.fixture
def recorded(monkeypatch) -> list[Event]:
    seen: list[Event] = []
    monkeypatch.setattr("aigw.cli.status.sink_for", lambda ui: seen.append)
    return seen


def test_replicate_reports_processing_then_succeeded(cli, recorded, monkeypatch):
    from tests.fakes.replicate import FakeReplicate

    with FakeReplicate(wait_outcome="starting", polls_to_finish=2) as fake:
        monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_test")
        monkeypatch.setenv("AIGW_PROVIDERS__REPLICATE__BASE_URL", fake.url)
        monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.05")
        r = cli("generate", "a red fox", "-m", "flux-schnell")
    assert r.code == 0, r.stderr
    statuses = [(e.provider, e.status) for e in recorded if isinstance(e, JobStatus)]
    assert statuses == [("replicate", "processing"), ("replicate", "succeeded")]  # "starting" came with the submit
    assert all(e.job_id == fake.job_ids[0] for e in recorded if isinstance(e, JobStatus))


def test_runpod_reports_its_queue_status(cli, recorded, monkeypatch):
    from tests.fakes.runpod import FakeRunPod, JobPlan

    with FakeRunPod(max_hold=0.05) as fake:
        monkeypatch.setenv("RUNPOD_API_KEY", "test-key")
        monkeypatch.setenv("AIGW_PROVIDERS__RUNPOD__BASE_URL", fake.base_url)
        fake.plan(JobPlan(polls=2, sync_status="IN_QUEUE"))
        r = cli("generate", "x", "-m", "flux-schnell")
    assert r.code == 0, r.stderr
    statuses = [e.status for e in recorded if isinstance(e, JobStatus) and e.provider == "runpod"]
    assert statuses[-1] == "COMPLETED" and len(statuses) >= 2, statuses
