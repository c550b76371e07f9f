"""9.2: a key never leaves through an error, whatever the upstream echoes back."""

from __future__ import annotations

import pytest

from tests.hostile.conftest import (CANARY, KEY_ENV, assert_one_error, configure, everything_in_db,
                                    everything_in_results)


@pytest.mark.parametrize("mode", ["echo-401", "echo-429", "echo-500-text"])
def test_an_echoed_key_appears_nowhere_when_a_healthy_provider_serves(cli, config_file, cache_dir, hostile,
                                                                       healthy, mode):
    hostile.mode = mode
    configure(config_file, hostile, healthy)
    for verbose in ((), ("-v",)):
        r = cli.subprocess(*verbose, "generate", "a cat", "-m", "gpt-image-2", "--json", env=KEY_ENV)
        assert r.code == 0, r.stderr
        assert '"provider": "backup"' in r.stdout
        assert CANARY not in r.stdout and CANARY not in r.stderr, r.stderr
        assert "\x1b]0;pwned" not in r.stderr
    assert hostile.count() >= 1
    assert CANARY not in everything_in_db(cache_dir)
    assert "[redacted]" in everything_in_db(cache_dir)
    assert CANARY.encode() not in everything_in_results(cache_dir)


@pytest.mark.parametrize("mode, code", [("echo-401", 4), ("echo-400", 2), ("echo-500-text", 4)])
def test_an_echoed_key_is_redacted_from_the_error_and_the_traceback(cli, config_file, cache_dir, hostile,
                                                                     mode, code):
    hostile.mode = mode
    configure(config_file, hostile, extra="[routing]\nretries = 0")
    r = cli("generate", "a cat", "-m", "gpt-image-2", env=KEY_ENV)
    assert_one_error(r, code)
    assert CANARY not in r.stderr and "[redacted]" in r.stderr, r.stderr
    verbose = cli("-v", "generate", "a cat", "-m", "gpt-image-2", env=KEY_ENV)
    assert verbose.code == code
    assert CANARY not in verbose.stderr and "Traceback" in verbose.stderr, verbose.stderr
    assert CANARY not in everything_in_db(cache_dir)


def test_an_api_key_header_echoed_by_a_gateway_is_redacted(cli, config_file, cache_dir, hostile, speech_wav):
    hostile.mode = "echo-401"
    configure(config_file, hostile, auth="api-key", extra="[routing]\nretries = 0")
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", env=KEY_ENV)
    assert_one_error(r, 4)
    assert CANARY not in r.stderr and CANARY not in everything_in_db(cache_dir)
