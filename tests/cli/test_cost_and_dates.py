"""Cost truth in the small places (tiny prices, "free", the unpriced hint) and one rule for dates:
result folders and budgets both use the local calendar day."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest

# A price small enough that four decimals would print it as $0.0000 for the 4.9 s sample.
TINY_PRICE = '[providers.groq.prices]\n"whisper-large-v3" = { per_minute = 0.0005 }\n'


def test_a_tiny_non_zero_price_never_prints_as_zero(cli, config_file, speech_wav):
    config_file.parent.mkdir(parents=True)
    config_file.write_text(TINY_PRICE)
    r = cli("transcribe", str(speech_wav), "-m", "whisper-large-v3", "-p", "groq", "--dry-run",
                       env={"GROQ_API_KEY": "gsk-test"})
    assert r.code == 0, r.stderr
    assert "$0.00004" in r.stdout
    assert "$0.0000\t" not in r.stdout and "$0.0000 " not in r.stdout and "(free)" not in r.stdout


def test_whisper_large_v3_shows_the_price_of_the_provider_that_would_serve_it(cli):
    rows = {m["id"]: m for m in json.loads(cli("models", "--json").stdout)}
    assert rows["whisper-large-v3"]["price"] == "$0.00185/min"  # groq's, not the local provider's "free"
    configured = {m["id"]: m for m in json.loads(
        cli("models", "--json", env={"GROQ_API_KEY": "gsk-test"}).stdout)}
    assert configured["whisper-large-v3"]["price"] == "$0.00185/min"
    assert rows["whisper-tiny.en"]["price"] == "free"  # only this machine serves it, and it is free


def test_gpu_second_priced_audio_is_shown_per_minute_not_per_image(cli):
    rows = {m["id"]: m for m in json.loads(cli("models", "--json").stdout)}
    replicate = next(p for p in rows["whisper-large-v3"]["providers"] if p["name"] == "replicate")
    assert replicate["price"].endswith("/min") and "image" not in replicate["price"]


def test_unpriced_over_max_cost_hints_allow_unpriced_not_a_higher_max_cost(cli, fake_openai):
    r = cli("generate", "x", "-m", "gpt-image-2.6-sunburst", "--max-cost", "1")
    assert r.code == 6
    assert "--allow-unpriced" in r.stderr and "raise --max-cost" not in r.stderr


def test_priced_over_max_cost_still_hints_a_higher_max_cost(cli, fake_openai):
    r = cli("generate", "x", "-m", "gpt-image-2", "--max-cost", "0.001")
    assert r.code == 6 and "raise --max-cost" in r.stderr


# ---- dates: the local calendar day ------------------------------------------------------------

ZONES = {"Etc/GMT+12": -12, "Etc/GMT-14": 14}  # POSIX names: GMT+12 is UTC-12


@contextmanager
def local_zone(zone: str) -> Iterator[None]:
    """This process in time zone `zone`, as TZ=zone gives a new process (the C library reads TZ
    again only on tzset): aigw runs in-process, and its dates and SQLite's 'localtime' follow it."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.parametrize("zone", sorted(ZONES))
def test_result_folders_use_the_local_date(cli, fake_openai, cache_dir, zone):
    with local_zone(zone):
        r = cli("generate", "a cat", "-m", "gpt-image-2")
    assert r.code == 0, r.stderr
    local_day = (datetime.now(timezone.utc) + timedelta(hours=ZONES[zone])).date()
    path = r.stdout.strip()
    assert f"/results/{local_day:%Y-%m-%d}/" in path


def test_the_daily_budget_counts_the_local_day_not_yesterday(cli, fake_openai, cache_dir, config_file):
    zone = "Etc/GMT+12"  # UTC-12: local midnight is 12:00 UTC
    with local_zone(zone):
        first = cli("generate", "a cat", "-m", "gpt-image-2", "--json")
    assert first.code == 0, first.stderr
    run = json.loads(first.stdout)
    cost, estimate = run["cost_usd"], run["estimated_cost_usd"]
    local_day = (datetime.now(timezone.utc) - timedelta(hours=12)).date()
    # Move that spend to 23:00 local yesterday (11:00 UTC today): it no longer counts today.
    yesterday_late = datetime(local_day.year, local_day.month, local_day.day, 11, tzinfo=timezone.utc)
    conn = sqlite3.connect(cache_dir / "aigw.db")
    with conn:
        conn.execute("UPDATE attempts SET started_at = ?", (yesterday_late.isoformat(),))
    conn.close()
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(f"[budget]\ndaily_usd = {estimate + cost / 2}\n")
    with local_zone(zone):
        second = cli("generate", "a dog", "-m", "gpt-image-2")
        third = cli("generate", "a fox", "-m", "gpt-image-2")
    assert second.code == 0, second.stderr
    assert third.code == 6 and "daily budget" in third.stderr
