"""`aigw bench`: the same request at each provider, one at a time; paid runs need --yes."""

from __future__ import annotations

import json

from tests.fakes._server import Fault
from tests.helpers import db_rows


def test_bench_runs_locally_for_free_and_reports_latency(cli, speech_wav, cache_dir, real_local_runs):
    r = cli("bench", "-m", "whisper-tiny.en", "--file", str(speech_wav), "--runs", "2", "--json")
    assert r.code == 0, r.stderr
    [row] = json.loads(r.stdout)
    assert row["provider"] == "local" and row["ok"] == 2 and row["runs"] == 2
    assert row["p50_ms"] > 0 and row["cost_usd_total"] == 0.0
    assert len(db_rows(cache_dir, "SELECT * FROM runs WHERE status = 'ok'")) == 2


def test_a_paid_bench_needs_yes_and_sends_nothing_without_it(cli, fake_openai):
    r = cli("bench", "-m", "gpt-image-1-mini", "--prompt", "a red apple", "--runs", "2")
    assert r.code == 6 and "--yes" in r.stderr
    assert fake_openai.count() == 0


def test_bench_measures_each_provider_separately_and_counts_failures(cli, pair):
    pair.primary.inject(Fault.http(500), route="/images/generations", times=None)
    r = cli("bench", "-m", "gpt-image-2", "--prompt", "x", "--runs", "2", "--yes", "--json")
    assert r.code == 0, r.stderr
    rows = {row["provider"]: row for row in json.loads(r.stdout)}
    assert rows["primary"]["ok"] == 0 and rows["primary"]["errors"]
    assert rows["secondary"]["ok"] == 2 and rows["secondary"]["cost_usd_total"] > 0
    assert pair.secondary.count("/images/generations") == 2  # no failover between providers in a bench


def test_each_providers_estimate_is_said_once_not_once_per_run(cli, fake_openai):
    r = cli("bench", "-m", "gpt-image-1-mini", "--prompt", "a red apple", "--runs", "3", "--yes")
    assert r.code == 0, r.stderr
    assert fake_openai.count() == 3
    assert sum(line.startswith("estimated cost: ") for line in r.stderr.splitlines()) == 1, r.stderr


def test_a_bench_missing_its_input_says_what_to_add(cli):
    for args, needs in ((("-m", "gpt-image-2"), "--prompt"), (("-m", "whisper-tiny.en"), "--file")):
        r = cli("bench", *args)
        assert r.code == 2
        error, hint = r.stderr.strip().splitlines()
        assert needs in error and hint.startswith("hint: aigw bench ") and needs in hint, r.stderr
