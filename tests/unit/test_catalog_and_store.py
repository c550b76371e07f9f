"""Catalog data validated on load, pure pricing, and the run log's migrations."""

from __future__ import annotations

import sqlite3

import pytest

from aigw.catalog import load, parse, pricing
from aigw.store.db import connect
from aigw.store.migrations import MIGRATIONS, migrate
from aigw.types import Usage


def test_every_price_has_a_date_and_a_source_and_every_retired_model_a_successor():
    catalog = load()
    for model in catalog.models.values():
        for name, offer in model.providers.items():
            if offer.price:
                assert offer.price.as_of and offer.price.source, (model.id, name)
            if offer.retired:
                assert offer.successor in catalog.models


def test_every_openai_model_in_the_reference_is_in_the_catalog():
    ids = set(load().models)
    for model_id in ["gpt-image-2", "gpt-image-2-2026-04-21", "gpt-image-1.5", "gpt-image-1-mini", "chatgpt-image-latest",
                     "gpt-image-2.5-sunburst", "gpt-image-2.5-flare", "gpt-image-2.5-sunburst-2026-09-08",
                     "gpt-image-2.5-flare-2026-09-08", "gpt-image-2.6-sunburst", "gpt-image-2.6-flare", "gpt-image-1",
                     "dall-e-3", "dall-e-2", "gpt-transcribe", "gpt-4o-transcribe", "gpt-4o-mini-transcribe",
                     "gpt-4o-mini-transcribe-2025-12-15", "gpt-4o-transcribe-diarize", "whisper-1"]:
        assert model_id in ids


def test_retired_chains_end_at_a_current_model():
    catalog = load()
    model = catalog.require("dall-e-2")
    seen = [model.id]
    while model.providers["openai"].retired:
        model = catalog.require(model.providers["openai"].successor)
        seen.append(model.id)
    assert seen == ["dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1.5"]


def test_a_bad_catalog_is_refused_on_load():
    bad = '[[model]]\nid = "x"\nkind = "image"\nsizes = ["1x1"]\n[model.providers.openai]\nmodel = "x"\n' \
          '[model.providers.openai.price]\nas_of = 2026-01-01\nsource = "s"\nper_image = { "9x9" = { low = 1 } }\n'
    with pytest.raises(ValueError, match="sizes it does not offer"):
        parse([("", bad)])


def test_snapshots_are_served_under_their_own_id():
    assert load().require("gpt-image-2-2026-04-21").providers["openai"].model == "gpt-image-2-2026-04-21"


def test_per_image_prices_by_size_and_quality():
    m = load().require("dall-e-3")
    est = pricing.estimate_image(m, m.providers["openai"], size="1792x1024", quality="hd", n=1, prompt="x")
    assert est.usd == pytest.approx(0.12) and est.as_of.isoformat() == "2026-11-22"


def test_token_priced_estimate_and_actual():
    m = load().require("gpt-image-2")
    offer = m.providers["openai"]
    est = pricing.estimate_image(m, offer, size="1024x1024", quality="low", n=2, prompt="a" * 40)
    assert est.usd == pytest.approx(2 * (272 * 30 + 10 * 5) / 1e6)
    usage = Usage(input_text_tokens=50, output_image_tokens=4160)
    assert pricing.actual_image(offer, usage, est) == pytest.approx((50 * 5 + 4160 * 30) / 1e6)


def test_audio_estimates_come_from_the_duration():
    offer = load().require("whisper-1").providers["openai"]
    assert pricing.estimate_audio(offer, duration_s=90).usd == pytest.approx(0.009)
    assert pricing.estimate_audio(offer, duration_s=None).usd is None
    assert pricing.actual_audio(offer, Usage(seconds=60), pricing.estimate_audio(offer, duration_s=59)) == 0.006


def test_an_unpriced_offer_is_unknown_never_zero():
    m = load().require("gpt-image-2.6-sunburst")
    est = pricing.estimate_image(m, m.providers["openai"], size=None, quality=None, n=1, prompt="x")
    assert est.usd is None and not est.known
    assert pricing.format_usd(None) == "unknown"


def test_migrations_apply_from_a_blank_database(tmp_path):
    conn = connect(tmp_path / "aigw.db")
    applied = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
    assert applied == {name for name, _ in MIGRATIONS}
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrations_upgrade_the_oldest_schema_and_keep_its_rows(tmp_path):
    conn = sqlite3.connect(tmp_path / "aigw.db", isolation_level=None)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    name, sql = MIGRATIONS[0]
    for statement in filter(str.strip, sql.split(";")):
        conn.execute(statement)
    conn.execute("INSERT INTO _migrations VALUES (?, 'then')", (name,))
    conn.execute("INSERT INTO runs (id, kind, created_at, status, requested_model, request_json)"
                 " VALUES ('r1', 'image', 'then', 'ok', 'dall-e-3', '{}')")
    assert migrate(conn) == [n for n, _ in MIGRATIONS[1:]]
    assert conn.execute("SELECT requested_model FROM runs").fetchone()[0] == "dall-e-3"
    assert migrate(conn) == []


def test_migration_names_are_unique_and_only_ever_appended():
    names = [name for name, _ in MIGRATIONS]
    assert len(names) == len(set(names)) and names == sorted(names)


def test_budgets_count_served_attempts_and_failed_ones_that_were_charged(tmp_path):
    from datetime import datetime, timedelta, timezone

    from aigw.store.db import RunLog
    from aigw.types import Attempt

    log = RunLog(tmp_path / "aigw.db")
    now = datetime(2026, 12, 6, 12, tzinfo=timezone.utc)
    log.start_run("r1", kind="audio", created_at=now, requested_model="whisper-1", request={}, estimated_cost_usd=0.05)

    def attempt(hop: int, **fields: object) -> Attempt:
        return Attempt(hop=hop, provider="p", provider_model="m", model="m", started_at=now, latency_ms=1.0, **fields)

    log.add_attempt("r1", attempt(1, failure_class="retryable", estimated_cost_usd=0.02))  # nothing charged
    log.add_attempt("r1", attempt(2, failure_class="repetition_loop", estimated_cost_usd=0.02,
                                  actual_cost_usd=0.015))  # an unusable answer, charged all the same
    log.add_attempt("r1", attempt(3, served=True, estimated_cost_usd=0.02, actual_cost_usd=0.03))
    log.add_attempt("r1", attempt(4, served=True, estimated_cost_usd=0.01))  # price unknown: its estimate
    assert log.spent_since(now - timedelta(hours=1)) == pytest.approx(0.015 + 0.03 + 0.01)
    assert log.spent_since(now + timedelta(hours=1)) == 0
