"""Circuit breakers that tell the truth: the notice names its cause after the error that caused it;
`models --check` closes healthy providers' circuits; `models --available` and `--json` show what
can serve now; `bench` measures a provider whose circuit is open. In-process: these check
what aigw decides, not the process around it."""

from __future__ import annotations

import json

from tests.fakes._server import Fault
from tests.helpers import db_rows

IMAGES = "/images/generations"


def generate(cli, *args: str):
    return cli("generate", "x", "-m", "gpt-image-2", *args)


def test_one_401_opens_the_circuit_and_the_notice_says_so_after_the_error(cli, pair):
    pair.primary.inject(Fault.http(401), route=IMAGES)
    r = generate(cli)
    assert r.code == 0, r.stderr
    error_at = r.stderr.index("primary: HTTP 401")
    notice = next(line for line in r.stderr.splitlines() if "circuit opened" in line)
    assert "primary: circuit opened for 60 s after one 401 (auth failure)" in notice
    assert r.stderr.index(notice) > error_at
    # The next run skips it and says why.
    r = generate(cli)
    assert r.code == 0 and "opened after one auth or quota failure" in r.stderr
    assert pair.primary.count(IMAGES) == 1


def test_consecutive_failures_are_counted_in_the_notice(cli, pair):
    pair.configure("[routing.breaker]\nfailures = 2\n")
    pair.primary.inject(Fault.http(500), route=IMAGES, times=None)
    assert "circuit opened" not in generate(cli).stderr
    r = generate(cli)
    assert r.code == 0, r.stderr
    assert "primary: circuit opened for 60 s after 2 consecutive failures" in r.stderr
    assert r.stderr.index("primary: HTTP 500") < r.stderr.index("circuit opened")


def test_available_leaves_out_models_no_provider_can_serve_now_and_check_closes_the_circuit(cli, pair, cache_dir):
    pair.configure(primary_extra="enabled = true", secondary_extra="enabled = false")
    pair.primary.inject(Fault.http(401), route=IMAGES)
    assert generate(cli).code == 4
    ids = cli("models", "--available").stdout.split()
    assert "gpt-image-2" not in ids and "whisper-1" not in ids
    rows = {m["id"]: m for m in json.loads(cli("models", "--json").stdout)}
    primary = next(p for p in rows["gpt-image-2"]["providers"] if p["name"] == "primary")
    assert primary["circuit"] == "open" and primary["circuit_open_until"]

    check = cli("models", "--check")
    assert check.code == 0, check.stderr
    assert "circuit closed" in check.stdout
    assert db_rows(cache_dir, "SELECT * FROM circuits WHERE provider = 'primary'") == []
    assert "gpt-image-2" in cli("models", "--available").stdout.split()
    rows = {m["id"]: m for m in json.loads(cli("models", "--json").stdout)}
    primary = next(p for p in rows["gpt-image-2"]["providers"] if p["name"] == "primary")
    assert primary["circuit"] == "closed" and primary["circuit_open_until"] is None
    assert generate(cli).code == 0


def test_bench_measures_a_provider_whose_circuit_is_open(cli, pair, cache_dir):
    pair.primary.inject(Fault.http(401), route=IMAGES)
    assert generate(cli).code == 0  # primary's circuit is now open
    before = pair.primary.count(IMAGES)
    r = cli("bench", "-m", "gpt-image-2", "--prompt", "x", "--runs", "2", "--yes", "--json",
                       "-p", "primary")
    assert r.code == 0, r.stderr
    row = json.loads(r.stdout)[0]
    assert row["provider"] == "primary" and row["ok"] == 2
    assert pair.primary.count(IMAGES) == before + 2
    assert row["errors"] == []
