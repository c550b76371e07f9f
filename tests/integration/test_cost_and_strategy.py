"""Estimates before, actual costs after, --dry-run, --max-cost, budgets, strategies and fallbacks."""

from __future__ import annotations

import json

from tests.fakes._server import Fault
from tests.helpers import db_rows

IMAGES = "/images/generations"


def test_dry_run_prints_the_plan_and_sends_nothing(cli, pair, cache_dir):
    r = cli("generate", "x", "-m", "gpt-image-2", "--dry-run", "--json")
    assert r.code == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["dry_run"] is True
    # openai serves gpt-image-2 too but has no key here: listed after the plan, with no hop.
    assert [(c["hop"], c["provider"], c["configured"]) for c in plan["candidates"]] == [
        (1, "primary", True), (2, "secondary", True), (None, "openai", False)]
    assert all(c["estimated_cost_usd"] > 0 and c["price_as_of"] == "2026-11-22" for c in plan["candidates"])
    assert pair.primary.count() == 0 and pair.secondary.count() == 0
    assert db_rows(cache_dir, "SELECT * FROM runs") == []


def test_dry_run_as_text_is_one_line_per_candidate(cli, pair):
    r = cli("generate", "x", "-m", "gpt-image-2", "--dry-run")
    lines = r.stdout.splitlines()
    assert len(lines) == 3 and lines[0].startswith("1\tprimary\tgpt-image-2\t$")
    assert lines[2].startswith("-\topenai\tgpt-image-2\t$") and lines[2].endswith("no key: set OPENAI_API_KEY or "
                                                                                   "run 'aigw config keys set openai'")
    assert "nothing was sent" in r.stderr


def test_max_cost_below_the_estimate_is_exit_6_and_sends_nothing(cli, pair):
    r = cli("generate", "x", "-m", "gpt-image-2", "--max-cost", "0.001")
    assert r.code == 6 and "--max-cost" in r.stderr
    assert pair.primary.count() == 0 and pair.secondary.count() == 0


def test_max_cost_skips_later_candidates_that_would_exceed_it(cli, pair, config_file):
    r = cli("generate", "x", "-m", "gpt-image-2", "--quality", "low", "--fallback", "gpt-image-1.5",
            "--max-cost", "0.02", "--dry-run", "--json")
    plan = json.loads(r.stdout)
    assert r.code == 0, r.stderr
    assert {c["model"] for c in plan["candidates"] if c["configured"]} == {"gpt-image-2"}


def test_an_unpriced_model_is_never_reported_as_costing_zero(cli, fake_openai):
    r = cli("generate", "x", "-m", "gpt-image-2.6-sunburst", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["cost_usd"] is None and data["estimated_cost_usd"] is None
    assert "estimated cost: unknown" in r.stderr and "cost: unknown" in r.stderr


def test_max_cost_refuses_an_unpriced_model_unless_allowed(cli, fake_openai):
    r = cli("generate", "x", "-m", "gpt-image-2.6-sunburst", "--max-cost", "1")
    assert r.code == 6 and "unknown" in r.stderr and "--allow-unpriced" in r.stderr
    assert fake_openai.count() == 0
    assert cli("generate", "x", "-m", "gpt-image-2.6-sunburst", "--max-cost", "1", "--allow-unpriced").code == 0


def test_daily_budget_is_checked_against_the_run_log(cli, fake_openai, config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text("[budget]\ndaily_usd = 0.05\n")
    first = cli("generate", "x", "-m", "gpt-image-1.5", "--quality", "medium", "--json")
    assert first.code == 0 and json.loads(first.stdout)["cost_usd"] > 0
    second = cli("generate", "x", "-m", "gpt-image-1.5", "--quality", "medium")
    assert second.code == 6 and "daily budget" in second.stderr
    assert fake_openai.count(IMAGES) == 1


def test_actual_cost_comes_from_usage_and_the_log_keeps_both(cli, fake_openai, cache_dir):
    r = cli("generate", "x", "-m", "gpt-image-2", "--quality", "low", "--json")
    data = json.loads(r.stdout)
    attempt = db_rows(cache_dir, "SELECT * FROM attempts WHERE served = 1")[0]
    assert attempt["estimated_cost_usd"] == data["estimated_cost_usd"]
    assert attempt["actual_cost_usd"] == data["cost_usd"]
    usage = fake_openai.requests_to(IMAGES)  # the fake bills 272 output tokens at 1024x1024 low
    assert usage and data["cost_usd"] > 272 * 30 / 1e6 * 0.9


def test_cheapest_strategy_puts_the_cheaper_model_first(cli, pair, config_file):
    pair.configure('[routing]\nstrategy = "cheapest"\n[routing.fallbacks]\n"gpt-image-2" = ["gpt-image-1-mini"]\n')
    r = cli("generate", "x", "-m", "gpt-image-2", "--dry-run", "--json")
    costs = [c["estimated_cost_usd"] for c in json.loads(r.stdout)["candidates"] if c["configured"]]
    assert costs == sorted(costs)


def test_round_robin_rotates_across_invocations(cli, pair):
    pair.configure('[routing]\nstrategy = "round-robin"\n')
    served = [json.loads(cli("generate", "x", "-m", "gpt-image-2", "--json").stdout)["provider"] for _ in range(4)]
    assert served in (["primary", "secondary"] * 2, ["secondary", "primary"] * 2)


def test_fastest_strategy_prefers_the_provider_with_lower_logged_latency(cli, pair):
    pair.configure('[routing]\nstrategy = "fastest"\n')
    pair.primary.inject(Fault(delay=0.3), route=IMAGES, times=None)
    for provider in ("primary", "secondary"):
        assert cli("generate", "x", "-m", "gpt-image-2", "-p", provider).code == 0
    r = cli("generate", "x", "-m", "gpt-image-2", "--dry-run", "--json")
    assert [c["provider"] for c in json.loads(r.stdout)["candidates"] if c["configured"]] == ["secondary", "primary"]


def test_fallback_model_is_tried_after_every_provider_of_the_requested_one(cli, pair, fake_openai):
    for fake in (pair.primary, pair.secondary):
        fake.inject(Fault.http(500), route=IMAGES, times=None)
    fake_openai.inject(Fault.http(500), route=IMAGES, times=1)  # openai fails gpt-image-2 once
    r = cli("generate", "x", "-m", "gpt-image-2", "--fallback", "gpt-image-1-mini", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["model"] == "gpt-image-1-mini" and data["provider"] == "openai"
    assert [(a["provider"], a["model"]) for a in data["attempts"]] == [
        ("primary", "gpt-image-2"), ("secondary", "gpt-image-2"), ("openai", "gpt-image-2"),
        ("openai", "gpt-image-1-mini")]
    assert "falling back to gpt-image-1-mini" in r.stderr


def test_provider_flag_restricts_the_candidates(cli, pair):
    r = cli("generate", "x", "-m", "gpt-image-2", "-p", "secondary", "--json")
    assert json.loads(r.stdout)["provider"] == "secondary" and pair.primary.count() == 0
