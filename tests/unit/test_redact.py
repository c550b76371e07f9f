"""aigw.redact: registered secrets and token shapes never survive; untrusted text fits one line."""

from __future__ import annotations

from aigw import redact


def test_registered_values_and_their_halves_are_redacted():
    redact.register("fal-id-7731aa:fal-secret-99ab")
    redact.register_header("cf-aig-authorization", "Bearer cfaig-token-5521")
    text = redact.redact("id fal-id-7731aa secret fal-secret-99ab whole fal-id-7731aa:fal-secret-99ab cfaig-token-5521")
    assert "fal-" not in text and "cfaig" not in text and text.count("[redacted]") == 4


def test_token_shapes_are_redacted_but_ordinary_words_stay():
    text = redact.redact("Authorization: Bearer abc.def-123 sk-proj-Zz9_x1 Key 1a2b3c4d5e6f7 Token 99887766554433;"
                         " the Key accepted, a token expired, Bearer")
    assert text == ("Authorization: Bearer [redacted] sk-[redacted] Key [redacted] Token [redacted];"
                    " the Key accepted, a token expired, Bearer")


def test_short_values_are_not_registered():
    redact.register("test")
    assert redact.redact("a test run") == "a test run"


def test_neutralise_makes_escapes_visible_and_joins_lines():
    assert redact.neutralise("a\x1b]0;x\x07b\r\n  c\n\td\x9b") == "a\\x1b]0;x\\x07b c d\\x9b"
    assert redact.neutralise("one\r\ntwo\x1b[2J\n", keep_lines=True) == "one\ntwo\\x1b[2J\n"
    assert redact.clean("x" * 50, limit=10) == "x" * 9 + "…"
