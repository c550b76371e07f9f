"""9.3 and 8.8: --timeout bounds a whole attempt and --deadline the whole run, whatever the server
does; a timed-out paid request is never sent twice and is logged as possibly billed."""

from __future__ import annotations

import time

from tests.helpers import db_rows
from tests.hostile.conftest import KEY_ENV, assert_one_error, configure


def test_a_trickling_server_is_cut_off_at_the_timeout_and_never_asked_twice(cli, config_file, cache_dir, hostile):
    hostile.mode = "trickle"
    configure(config_file, hostile)
    started = time.monotonic()
    r = cli("generate", "a cat", "-m", "gpt-image-2", "--timeout", "2", "--deadline", "3", env=KEY_ENV)
    elapsed = time.monotonic() - started
    assert_one_error(r, 4)
    assert elapsed < 7, elapsed  # a byte a second: 600 s unbounded
    assert hostile.count() == 1  # a timed-out paid request is not re-sent to the same provider
    assert "a timed-out attempt at hostile may be billed ~$" in r.stderr, r.stderr
    rows = db_rows(cache_dir, "SELECT failure_class, possibly_billed, estimated_cost_usd FROM attempts")
    assert [(x["failure_class"], x["possibly_billed"]) for x in rows] == [("timeout", 1)]
    assert rows[0]["estimated_cost_usd"] > 0


def test_a_trickling_server_fails_over_to_a_healthy_one_at_once(cli, config_file, cache_dir, hostile, healthy):
    hostile.mode = "trickle"
    configure(config_file, hostile, healthy)
    started = time.monotonic()
    # In-process, so no interpreter start-up to leave room for: 3 s at the trickler, 3 s for the backup.
    r = cli("generate", "a cat", "-m", "gpt-image-2", "--timeout", "3", "--deadline", "6", env=KEY_ENV)
    elapsed = time.monotonic() - started
    assert r.code == 0, r.stderr
    assert elapsed < 7, elapsed
    assert "at backup" in r.stderr and "a timed-out attempt at hostile may be billed" in r.stderr, r.stderr
    rows = db_rows(cache_dir, "SELECT provider, failure_class, possibly_billed, served FROM attempts ORDER BY hop")
    assert [tuple(x) for x in rows] == [("hostile", "timeout", 1, 0), ("backup", None, 0, 1)]


def test_a_trickling_image_download_is_bounded_too(cli, config_file, hostile, healthy):
    hostile.mode = "url-trickle"
    configure(config_file, hostile, healthy)
    started = time.monotonic()
    r = cli("generate", "a cat", "-m", "gpt-image-2", "--timeout", "2", env=KEY_ENV)
    assert r.code == 0, r.stderr
    assert time.monotonic() - started < 7
    assert hostile.count("/files/trickle") == 1 and "at backup" in r.stderr


def test_a_trickling_transcription_is_bounded_and_fails_over(cli, config_file, hostile, healthy, speech_wav):
    hostile.mode = "trickle"
    configure(config_file, hostile, healthy)
    started = time.monotonic()
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--timeout", "2", env=KEY_ENV)
    assert r.code == 0, r.stderr
    assert time.monotonic() - started < 7
    assert r.stdout.strip() and hostile.count() == 1
