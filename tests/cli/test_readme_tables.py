"""README's "Exit codes" table and Routing's failure table, walked row by row through the CLI.

Both tables are parsed from README.md: each row has one scenario below, named for the row, and a
row without a scenario (or a scenario without a row) fails `test_every_row_has_a_scenario`.
Exit codes run the installed entry point (`python -m aigw`), but for 1 (see its scenario); the
failure classes run in-process against two loopback OpenAI-compatible fakes, `primary` (tried
first) and `secondary`.
"""

from __future__ import annotations

import email.utils
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes._server import Fault
from tests.fakes.azure import FakeAzureOpenAI
from tests.fakes.openai import FakeOpenAI, error_body, insufficient_quota
from tests.fakes.stability import FakeStability
from tests.helpers import CLI, Result, db_rows

README = Path(__file__).resolve().parents[2] / "README.md"
IMAGES = "/images/generations"
AUDIO = "/audio/transcriptions"
PEAR = ("generate", "a pear", "-m", "gpt-image-2")


# ---- the tables, as README has them ---------------------------------------------------------------


def readme_table(header: list[str]) -> dict[str, list[str]]:
    """The rows of README's table whose header is `header`, by first cell (backticks dropped)."""
    lines = README.read_text(encoding="utf-8").splitlines()
    cells = lambda line: [c.strip() for c in line.strip().strip("|").split("|")]  # noqa: E731
    start = next(i for i, line in enumerate(lines) if line.startswith("|") and cells(line) == header)
    rows: dict[str, list[str]] = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        row = cells(line)
        rows[row[0].strip("`")] = row[1:]
    assert rows, f"README table {header} is empty"
    return rows


EXIT_CODES = readme_table(["code", "meaning"])
FAILURES = readme_table(["failure", "examples", "what aigw does"])


# ---- the world each scenario runs in -------------------------------------------------------------


@dataclass
class World:
    cli: CLI
    primary: FakeOpenAI  # the built-in `openai` provider for exit codes; `primary` for failures
    secondary: FakeOpenAI
    config_file: Path
    cache_dir: Path
    tmp_path: Path
    speech_wav: Path
    monkeypatch: pytest.MonkeyPatch

    def two_providers(self, routing: str = "retries = 0", primary_url: str | None = None,
                      secondary: str = "") -> None:
        """`primary` then `secondary`, both serving gpt-image-2 and whisper-1 without a key."""
        self.config_file.parent.mkdir(parents=True, exist_ok=True)
        provider = ('[providers.{name}]\ntype = "openai"\nbase_url = "{url}"\nauth = "none"\n'
                    'models = ["gpt-image-2", "whisper-1"]\n')
        self.config_file.write_text(
            f"[routing]\n{routing}\n"
            + provider.format(name="primary", url=primary_url or self.primary.base_url)
            + provider.format(name="secondary", url=self.secondary.base_url) + secondary)

    def forget_circuits(self) -> None:
        """A new run log: every circuit closed (five failures in a row would open one)."""
        (self.cache_dir / "aigw.db").unlink(missing_ok=True)

    def run(self, *args: str) -> tuple[Result, dict]:
        """An in-process `generate --json` (or the command given): the result and its JSON."""
        import json

        r = self.cli(*(args or PEAR), "--json")
        return r, (json.loads(r.stdout) if r.stdout.strip() else {})

    def runs(self) -> list[sqlite3.Row]:
        return db_rows(self.cache_dir, "SELECT status, exit_code, error FROM runs ORDER BY id")


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeOpenAI, FakeOpenAI]]:
    with FakeOpenAI(auth="none") as primary, FakeOpenAI(auth="none") as secondary:
        yield primary, secondary


@pytest.fixture
def world(fakes, cli, config_file, cache_dir, tmp_path, speech_wav, monkeypatch) -> Iterator[World]:
    primary, secondary = fakes
    for fake in fakes:
        fake.clear_faults()
        fake.clear_log()
    yield World(cli, primary, secondary, config_file, cache_dir, tmp_path, speech_wav, monkeypatch)
    assert not primary.errors and not secondary.errors


def classes(data: dict) -> list[tuple[str, str | None]]:
    return [(a["provider"], a["failure_class"]) for a in data["attempts"]]


def closed_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@contextmanager
def unanswered_connect_url() -> Iterator[str]:
    """A loopback URL whose listen backlog is full: a connection attempt is never answered."""
    import socket

    with socket.socket() as server, socket.socket() as filler:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        filler.connect(server.getsockname())  # takes the one place in the backlog
        yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"


def one_error_line(r: Result, code: int) -> None:
    assert r.code == code, (r.code, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    assert len([line for line in r.stderr.splitlines() if line.startswith("aigw: error")]) == 1, r.stderr


# ---- exit codes: the installed entry point -------------------------------------------------------


def exit_0_ok(w: World) -> None:
    r = w.cli.subprocess(*PEAR)
    assert r.code == 0, r.stderr
    assert Path(r.stdout.strip()).read_bytes().startswith(b"\x89PNG")
    assert [tuple(row)[:2] for row in w.runs()] == [("ok", 0)]


def exit_1_unexpected_error_or_run_log_locked(w: World) -> None:
    # A legitimate "unexpected" condition: another process holds aigw.db past the busy timeout.
    # In-process with that timeout at 0.5 s (10 s as shipped: a subprocess would wait all of it);
    # the other rows show exit codes from outside the process.
    from aigw.store import db

    assert w.cli(*PEAR).code == 0
    sent = w.primary.count(IMAGES)
    w.monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 500)
    holder = sqlite3.connect(w.cache_dir / "aigw.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        r = w.cli(*PEAR)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    one_error_line(r, 1)
    assert "stayed locked" in r.stderr and str(w.cache_dir / "aigw.db") in r.stderr
    assert w.primary.count(IMAGES) == sent  # nothing was sent


def exit_2_bad_usage_or_input(w: World) -> None:
    r = w.cli.subprocess("generate", "a pear", "-m", "no-such-model")
    one_error_line(r, 2)
    assert r.stdout == ""
    assert w.cli.subprocess("generate", "--no-such-flag").code == 2  # usage: on stderr, nothing on stdout
    examples = {
        "size not offered": w.cli("generate", "a pear", "-m", "gpt-image-1.5", "--size", "640x480"),
        "empty prompt": w.cli("generate", "", "-m", "gpt-image-2"),
        "not an audio file": w.cli("transcribe", str(README), "-m", "whisper-1"),
        "no audio stream": w.cli("transcribe", str(silent_film(w.tmp_path / "film.mp4")), "-m", "whisper-1"),
    }
    assert {name: r.code for name, r in examples.items()} == dict.fromkeys(examples, 2)
    assert w.primary.count() == 0  # all refused before any request
    w.primary.inject(Fault.http(400), route=IMAGES)
    assert w.cli(*PEAR).code == 2  # a provider's 400


def silent_film(path: Path) -> Path:
    from tests.audio_media import make

    make(path, "mp4", None, "mpeg4")
    return path


def exit_3_configuration(w: World) -> None:
    w.monkeypatch.delenv("OPENAI_API_KEY")
    r = w.cli.subprocess(*PEAR)
    one_error_line(r, 3)
    assert "OPENAI_API_KEY" in r.stderr
    w.config_file.parent.mkdir(parents=True, exist_ok=True)
    w.config_file.write_text("[routing]\nno_such_setting = 1\n")
    r = w.cli("config", "show")
    assert r.code == 3 and "no_such_setting" in r.stderr and str(w.config_file) in r.stderr
    w.config_file.write_text("[routing\n")  # not TOML
    r = w.cli(*PEAR)
    assert r.code == 3 and str(w.config_file) in r.stderr
    w.config_file.unlink()
    w.cache_dir.mkdir(parents=True, exist_ok=True)
    (w.cache_dir / "aigw.db").write_bytes(b"not sqlite" * 500)  # a corrupt run log
    w.monkeypatch.setenv("OPENAI_API_KEY", "test")
    r = w.cli(*PEAR)
    assert r.code == 3 and f"mv {w.cache_dir / 'aigw.db'}" in r.stderr
    (w.cache_dir / "aigw.db").unlink()
    (w.cache_dir / "aigw.db").mkdir()  # a run log that cannot be opened
    r = w.cli(*PEAR)
    assert r.code == 3 and str(w.cache_dir / "aigw.db") in r.stderr
    assert w.primary.count() == 0


def exit_4_no_provider_succeeded(w: World) -> None:
    w.config_file.parent.mkdir(parents=True, exist_ok=True)
    w.config_file.write_text("[routing]\nretries = 0\n")
    w.primary.inject(Fault.http(503), route=IMAGES, times=None)
    r = w.cli.subprocess(*PEAR)
    one_error_line(r, 4)
    assert r.stdout == "" and w.runs()[0]["status"] == "failed"


def exit_5_content_refused(w: World) -> None:
    r = w.cli.subprocess("generate", "something forbidden", "-m", "gpt-image-2")
    one_error_line(r, 5)
    assert w.runs()[0]["exit_code"] == 5


def exit_6_budget_exceeded(w: World) -> None:
    r = w.cli.subprocess(*PEAR, "--max-cost", "0.0001")
    one_error_line(r, 6)
    assert w.primary.count() == 0
    w.config_file.parent.mkdir(parents=True, exist_ok=True)
    w.config_file.write_text("[budget]\ndaily_usd = 0.0001\n")
    assert w.cli(*PEAR).code == 6


def exit_7_saved_in_cache_but_output_not_written(w: World) -> None:
    r = w.cli.subprocess(*PEAR, "-o", "/proc/x.png")
    assert r.code == 7, r.stderr
    cached = Path(db_rows(w.cache_dir, "SELECT path FROM files")[0]["path"])
    assert cached.read_bytes().startswith(b"\x89PNG") and str(cached) in r.stderr


def exit_8_batch_with_failed_items(w: World) -> None:
    w.config_file.parent.mkdir(parents=True, exist_ok=True)
    w.config_file.write_text("[routing]\nretries = 0\n")
    batch = w.tmp_path / "prompts.txt"
    batch.write_text("a pear\na plum\n")
    w.primary.inject(Fault.http(503), route=IMAGES)  # the first request fails, the second is served
    r = w.cli.subprocess("generate", "--batch", str(batch), "-m", "gpt-image-2", "--concurrency", "1")
    assert r.code == 8, r.stderr
    (path,) = r.stdout.splitlines()
    assert Path(path).read_bytes().startswith(b"\x89PNG")
    assert "aigw: error: line 1: " in r.stderr and "line(s) 1" in r.stderr and "--resume b" in r.stderr
    assert sorted(tuple(row)[:2] for row in w.runs()) == [("failed", 4), ("ok", 0)]


def _cache_cannot_take_results(w: World) -> dict[str, str]:
    w.cache_dir.mkdir(parents=True, exist_ok=True)
    (w.cache_dir / "results").write_text("a file where the results directory goes")
    (w.tmp_path / "tmpdir").mkdir()
    return {"TMPDIR": str(w.tmp_path / "tmpdir")}


def exit_9_kept_at_a_fallback_place(w: World) -> None:
    r = w.cli.subprocess(*PEAR, env=_cache_cannot_take_results(w))
    assert r.code == 9, r.stderr
    (kept,) = (w.tmp_path / "tmpdir" / f"aigw-rescue-{os.getuid()}").iterdir()
    assert kept.read_bytes().startswith(b"\x89PNG") and str(kept) in r.stderr


def exit_10_written_nowhere(w: World) -> None:
    env = _cache_cannot_take_results(w)
    (w.tmp_path / "tmpdir" / f"aigw-rescue-{os.getuid()}").write_text("in the way too")
    r = w.cli.subprocess(*PEAR, "-o", "/dev/full", env=env)
    one_error_line(r, 10)
    assert "lost" in r.stderr and w.primary.count(IMAGES) == 1


def _signalled(w: World, sig: signal.Signals, code: int) -> None:
    """A run waiting on a provider that never answers gets `sig`: it ends with `code`, logged."""
    w.primary.inject(Fault(hang=True), route=IMAGES)
    proc = subprocess.Popen([sys.executable, "-m", "aigw", *PEAR], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert w.primary.wait_for_requests(1, IMAGES, timeout=30), proc.communicate(timeout=30)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == code, err.decode()
    assert out == b""
    assert [tuple(row)[:2] for row in w.runs()] == [("interrupted", code)]


def exit_129_hung_up(w: World) -> None:
    _signalled(w, signal.SIGHUP, 129)


def exit_130_interrupted(w: World) -> None:
    _signalled(w, signal.SIGINT, 130)


def exit_143_terminated(w: World) -> None:
    _signalled(w, signal.SIGTERM, 143)


EXIT_SCENARIOS: dict[str, Callable[[World], None]] = {
    "0": exit_0_ok,
    "1": exit_1_unexpected_error_or_run_log_locked,
    "2": exit_2_bad_usage_or_input,
    "3": exit_3_configuration,
    "4": exit_4_no_provider_succeeded,
    "5": exit_5_content_refused,
    "6": exit_6_budget_exceeded,
    "7": exit_7_saved_in_cache_but_output_not_written,
    "8": exit_8_batch_with_failed_items,
    "9": exit_9_kept_at_a_fallback_place,
    "10": exit_10_written_nowhere,
    "129": exit_129_hung_up,
    "130": exit_130_interrupted,
    "143": exit_143_terminated,
}


# ---- failures: what aigw does with each class ------------------------------------------------------


def retryable(w: World) -> None:
    # The next candidate at once (no sleep), for each example.
    for fault in (Fault.http(500), Fault.http(503), Fault.http(408), Fault.http(409), Fault(reset=True)):
        w.forget_circuits()
        w.primary.inject(fault, route=IMAGES)
        started = time.monotonic()
        r, data = w.run()
        assert r.code == 0, (fault, r.stderr)
        assert classes(data) == [("primary", "retryable"), ("secondary", None)], fault
        assert data["attempts"][1]["waited_s"] == 0 and time.monotonic() - started < 2
    w.two_providers(primary_url=closed_port_url())  # connection refused
    r, data = w.run()
    assert classes(data) == [("primary", "retryable"), ("secondary", None)], r.stderr
    with unanswered_connect_url() as url:  # a connect timeout: nothing was sent, so nothing billed
        w.two_providers(primary_url=url)
        r, data = w.run(*PEAR, "--timeout", "0.5")
    assert classes(data) == [("primary", "retryable"), ("secondary", None)], r.stderr
    assert db_rows(w.cache_dir, "SELECT COUNT(*) AS n FROM attempts WHERE possibly_billed = 1")[0]["n"] == 0
    # The last candidate is retried with backoff and full jitter, `routing.retries` times.
    w.forget_circuits()
    w.two_providers("retries = 2")
    w.primary.inject(Fault.http(500), route=IMAGES, times=None)
    w.secondary.inject(Fault.http(502), route=IMAGES, times=None)
    r, data = w.run()
    assert r.code == 4
    assert classes(data) == [("primary", "retryable")] + [("secondary", "retryable")] * 3
    waits = [a["waited_s"] for a in data["attempts"]]
    assert waits[:2] == [0, 0] and 0 <= waits[2] <= 0.5 and 0 <= waits[3] <= 1.0
    # retry_before_failover = true retries first.
    w.primary.clear_faults()
    w.secondary.clear_faults()
    w.forget_circuits()
    w.two_providers("retries = 1\nretry_before_failover = true")
    w.primary.inject(Fault.http(500), route=IMAGES)
    r, data = w.run()
    assert classes(data) == [("primary", "retryable"), ("primary", None)], r.stderr


def malformed_reply_retryable(w: World) -> None:
    not_a_list = Fault(status=200, body={"created": 1, "data": {"b64_json": "x"}})
    a_json_list = Fault(status=200, body=[{"b64_json": "x"}])
    url_not_a_url = Fault(status=200, body={"created": 1, "data": [{"url": 42}]})
    private_url = Fault(status=200, body={"created": 1, "data": [{"url": "http://169.254.169.254/x.png"}]})
    for fault in (Fault(malformed=True), not_a_list, a_json_list, url_not_a_url, private_url):
        w.primary.inject(fault, route=IMAGES)
        r, data = w.run()
        assert r.code == 0, (fault, r.stderr)
        assert classes(data) == [("primary", "retryable"), ("secondary", None)], fault
        assert data["attempts"][1]["waited_s"] == 0


def timeout(w: World) -> None:
    w.primary.inject(Fault(hang=True), route=IMAGES)
    r, data = w.run(*PEAR, "--timeout", "0.5")
    assert r.code == 0, r.stderr
    assert classes(data) == [("primary", "timeout"), ("secondary", None)]
    assert data["attempts"][1]["waited_s"] == 0
    assert "a timed-out attempt at primary may be billed ~$" in r.stderr.splitlines()[-1]  # the cost line
    # Never sent to the same provider again, even as the last candidate with retries left.
    w.two_providers("retries = 2", secondary="enabled = false\n")
    w.primary.clear_log()
    w.primary.inject(Fault(hang=True), route=IMAGES)
    r = w.cli(*PEAR, "--timeout", "0.5")
    assert r.code == 4 and w.primary.count(IMAGES) == 1
    assert "cost: unknown; a timed-out attempt at primary may be billed ~$" in r.stderr
    billed = db_rows(w.cache_dir, "SELECT provider FROM attempts WHERE possibly_billed = 1")
    assert [row["provider"] for row in billed] == ["primary", "primary"]


def rate_limited(w: World) -> None:
    # Waits for the advised time when it fits the deadline, then tries the same provider again.
    w.two_providers("retries = 2")

    def waits_then_retries(headers: dict[str, str], low: float, high: float) -> None:
        w.primary.inject(Fault(status=429, headers=headers), route=IMAGES)
        r, data = w.run(*PEAR, "--deadline", "10")
        assert r.code == 0, r.stderr
        assert classes(data) == [("primary", "rate_limited"), ("primary", None)], headers
        assert low <= data["attempts"][1]["waited_s"] <= high, headers

    waits_then_retries({"retry-after-ms": "300"}, 0.25, 0.35)
    waits_then_retries({"Retry-After": "1"}, 0.95, 1.05)
    waits_then_retries({"x-ratelimit-reset-requests": "300ms"}, 0.25, 0.35)
    waits_then_retries({"Retry-After": email.utils.formatdate(time.time() + 2, usegmt=True)}, 0.5, 2.05)  # whole s
    assert w.secondary.count() == 0
    # Else the next candidate at once.
    w.primary.inject(Fault(status=429, headers={"Retry-After": "5"}), route=IMAGES)
    started = time.monotonic()
    r, data = w.run(*PEAR, "--deadline", "2")
    assert classes(data) == [("primary", "rate_limited"), ("secondary", None)], r.stderr
    assert data["attempts"][1]["waited_s"] == 0 and time.monotonic() - started < 1
    # With no deadline, only the last candidate waits: the others move on at once.
    w.primary.inject(Fault(status=429, headers={"Retry-After": "5"}), route=IMAGES)
    r, data = w.run()
    assert classes(data) == [("primary", "rate_limited"), ("secondary", None)], r.stderr
    w.two_providers("retries = 2", secondary="enabled = false\n")
    w.primary.inject(Fault(status=429, headers={"retry-after-ms": "300"}), route=IMAGES)
    r, data = w.run()
    assert classes(data) == [("primary", "rate_limited"), ("primary", None)], r.stderr
    assert data["attempts"][1]["waited_s"] == pytest.approx(0.3, abs=0.05)
    # `routing.retries` bounds the tries at one provider, waits for Retry-After included.
    w.two_providers("retries = 0")
    w.primary.inject(Fault(status=429, headers={"retry-after-ms": "300"}), route=IMAGES)
    r, data = w.run(*PEAR, "--deadline", "10")
    assert classes(data) == [("primary", "rate_limited"), ("secondary", None)], r.stderr


def empty_result(w: World) -> None:
    w.primary.inject(Fault(empty=True), route=IMAGES)
    r, data = w.run()
    assert classes(data) == [("primary", "empty_result"), ("secondary", None)], r.stderr
    w.primary.inject(Fault(empty=True), route=AUDIO)  # no words from speech
    r, data = w.run("transcribe", str(w.speech_wav), "-m", "whisper-1")
    assert classes(data) == [("primary", "empty_result"), ("secondary", None)], r.stderr


def auth_quota(w: World) -> None:
    for fault, cls in ((Fault.http(401), "auth"), (Fault.http(403, error_body("Forbidden.", code=None)), "auth"),
                       (Fault.http(402), "quota"), (insufficient_quota(), "quota")):
        w.primary.clear_log()
        w.forget_circuits()
        w.primary.inject(fault, route=IMAGES, times=None)
        r, data = w.run(*PEAR, "--deadline", "10")
        assert classes(data) == [("primary", cls), ("secondary", None)], (fault, r.stderr)
        assert w.primary.count(IMAGES) == 1  # never retried, even with time to wait
        (circuit,) = db_rows(w.cache_dir, "SELECT open_until FROM circuits WHERE provider = 'primary'")
        assert circuit["open_until"] > time.time(), fault  # opened at once, after one failure
        status = data["attempts"][0]["http_status"]
        assert f"primary: circuit opened for 60 s after one {status} ({cls}" in r.stderr
        w.primary.clear_faults()


def model_not_found(w: World) -> None:
    lacks = Fault.http(404, error_body("The model `gpt-image-2` does not exist.", code="model_not_found"))
    w.primary.inject(lacks, route=IMAGES)
    r, data = w.run()
    assert classes(data) == [("primary", "model_unavailable"), ("secondary", None)], r.stderr
    w.primary.inject(Fault.http(400, error_body("no such model", code="model_not_found")), route=IMAGES)
    w.secondary.inject(lacks, route=IMAGES)
    r, data = w.run()
    one_error_line(r, 2)
    assert "primary" in r.stderr and "secondary" in r.stderr


def bad_request(w: World) -> None:
    for fault in (Fault.http(400), Fault.http(404), Fault.http(413), Fault.http(422)):
        w.primary.inject(fault, route=IMAGES)
        r, data = w.run()
        assert r.code == 2, (fault, r.stderr)
        assert classes(data) == [("primary", "bad_request")]
    assert w.secondary.count() == 0


def content_refused(w: World) -> None:
    r, data = w.run("generate", "something forbidden", "-m", "gpt-image-2")
    assert r.code == 5 and classes(data) == [("primary", "content_refused")]
    policy = error_body("Your request was rejected by the safety system.", code="content_policy_violation")
    w.primary.inject(Fault.http(400, policy), route=IMAGES)
    r, data = w.run()
    assert r.code == 5
    assert w.secondary.count() == 0
    w.primary.inject(Fault.http(400, policy), route=IMAGES)
    r, data = w.run(*PEAR, "--fallback-on-refusal")
    assert classes(data) == [("primary", "content_refused"), ("secondary", None)], r.stderr
    # Azure's contentFilter (a 400) and Stability's CONTENT_FILTERED (a 200 with a blank image).
    with FakeAzureOpenAI() as azure, FakeStability() as stability:
        w.monkeypatch.setenv("AZURE_OPENAI_API_KEY", "az-key")
        w.monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", azure.url)
        w.monkeypatch.setenv("STABILITY_API_KEY", "sk-test")
        w.monkeypatch.setenv("AIGW_PROVIDERS__STABILITY__BASE_URL", stability.url)
        w.config_file.write_text('[providers.azure]\nmodels = { "dall-e-3" = "my-dalle" }\n')
        for model, provider in (("dall-e-3", "azure"), ("stable-image-core", "stability")):
            r, data = w.run("generate", "something forbidden", "-m", model)
            assert r.code == 5 and classes(data) == [(provider, "content_refused")], r.stderr


FAILURE_SCENARIOS: dict[str, Callable[[World], None]] = {
    "retryable": retryable,
    "malformed reply (retryable)": malformed_reply_retryable,
    "timeout": timeout,
    "rate limited": rate_limited,
    "empty result": empty_result,
    "auth, quota": auth_quota,
    "model not found": model_not_found,
    "bad request": bad_request,
    "content refused": content_refused,
}


# ---- the walk ---------------------------------------------------------------------------------------


def test_every_row_has_a_scenario() -> None:
    assert set(EXIT_CODES) == set(EXIT_SCENARIOS)
    assert set(FAILURES) == set(FAILURE_SCENARIOS)


@pytest.mark.parametrize("code", list(EXIT_CODES))
def test_exit_code_row(code: str, world: World) -> None:
    world.monkeypatch.setenv("OPENAI_BASE_URL", world.primary.base_url)  # the built-in `openai` provider
    world.monkeypatch.setenv("OPENAI_API_KEY", "test")
    EXIT_SCENARIOS[code](world)


@pytest.mark.parametrize("failure", list(FAILURES))
def test_failure_row(failure: str, world: World) -> None:
    world.two_providers()
    FAILURE_SCENARIOS[failure](world)
