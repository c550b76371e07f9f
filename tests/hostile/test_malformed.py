"""9.4: a malformed reply is a provider failure, not a crash: it fails over, or exits 4 alone."""

from __future__ import annotations

import pytest

from tests.helpers import db_rows
from tests.hostile.conftest import KEY_ENV, assert_one_error, configure

# What the failed attempt says in the run log. aigw's client never follows redirects on API calls,
# so a redirect there is a reply that is not JSON; image downloads follow at most five, each checked.
SHAPES = {
    "json-list": "malformed reply from hostile: a JSON list",
    "data-not-list": "malformed reply from hostile",
    "data-strings": "malformed reply from hostile",
    "url-int": "image url is not a string",
    "url-invalid": "hostile",
    "redirect-loop": "malformed JSON in a 307 response",
    "image-redirect-loop": "redirects more than 5 times",
    "url-private": "refused an image url on a private address (10.1.2.3)",
    "url-link-local": "refused an image url on a private address (169.254.169.254)",
}


@pytest.mark.parametrize("mode", sorted(SHAPES))
def test_a_malformed_reply_fails_over_to_a_healthy_provider(cli, config_file, cache_dir, hostile, healthy, mode):
    hostile.mode = mode
    configure(config_file, hostile, healthy)
    r = cli("generate", "a cat", "-m", "gpt-image-2", env=KEY_ENV)
    assert r.code == 0, r.stderr
    assert "Traceback" not in r.stderr and "unexpected" not in r.stderr, r.stderr
    rows = db_rows(cache_dir, "SELECT provider, failure_class, error, served FROM attempts ORDER BY hop")
    assert rows[0]["provider"] == "hostile" and rows[0]["failure_class"] in ("retryable", "empty_result")
    assert SHAPES[mode] in rows[0]["error"], rows[0]["error"]
    assert (rows[-1]["provider"], rows[-1]["served"]) == ("backup", 1)


@pytest.mark.parametrize("mode", ["image-redirect-loop", "url-link-local"])
def test_a_malformed_reply_alone_is_exit_4_with_one_line(cli, config_file, hostile, mode):
    hostile.mode = mode
    configure(config_file, hostile, extra="[routing]\nretries = 0")
    r = cli("generate", "a cat", "-m", "gpt-image-2", env=KEY_ENV)
    assert_one_error(r, 4)
    if mode == "url-link-local":
        assert "private address (169.254.169.254)" in r.stderr
    if mode == "image-redirect-loop":
        assert hostile.count("/files/loop") == 6  # the first GET and five redirects, then it stops


def test_an_image_url_on_the_providers_own_loopback_host_is_fetched(cli, config_file, hostile):
    hostile.mode = "url-self"
    configure(config_file, hostile)
    r = cli("generate", "a cat", "-m", "gpt-image-2", env=KEY_ENV)
    assert r.code == 0, r.stderr
    assert r.stdout.strip().endswith(".png") and hostile.count("/files/") == 1


def test_an_endless_body_is_refused_at_the_cap_while_it_streams(cli, config_file, hostile, healthy):
    hostile.mode = "endless-json"
    configure(config_file, hostile, healthy)
    r = cli("generate", "a cat", "-m", "gpt-image-2", env=KEY_ENV)
    assert r.code == 0, r.stderr
    assert "over the 64 MiB limit" in r.stderr and "at backup" in r.stderr, r.stderr
    # It stopped reading at the cap (socket buffers hold a little more), not at the fake's 1 GiB.
    assert 64 * 2**20 <= hostile.sent < 96 * 2**20, hostile.sent
