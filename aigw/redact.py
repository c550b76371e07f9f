"""Secrets never leave through a message: every key aigw may send is registered here, and every
message that is printed, logged or stored passes through `redact()` first.

Two nets: the exact values registered (a provider's key, secret-looking header values, each half of
a fal `KEY_ID:KEY_SECRET`), and token shapes that are secrets wherever they come from (`Bearer …`,
`Key …`, `Token …`, `sk-…`), so a key aigw never saw (an upstream echoing another one) is hidden too.
`neutralise()` makes untrusted text safe for one terminal line: control characters and escape
sequences become visible `\\xNN` text, and line breaks become spaces.
"""

from __future__ import annotations

import functools
import re
import threading

REDACTED = "[redacted]"
MIN_SECRET_LEN = 6  # shorter values ("test", "none") would blank out ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

_SHAPES = re.compile(
    r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=:-]{6,}"  # Authorization schemes
    r"|\b(key|token)(\s+)(?=[A-Za-z0-9._~+/=:-]*\d)[A-Za-z0-9._~+/=:-]{12,}"  # fal, Deepgram: with a digit
    r"|\bsk-[A-Za-z0-9_-]{6,}"  # OpenAI-style keys
)
# C0 controls except tab, DEL, C1 controls (ESC starts CSI/OSC sequences; \x9b is a one-byte CSI).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def register(value: str | None) -> None:
    """Remember a secret aigw may send, so no message can carry it out."""
    if not value:
        return
    parts = {value.strip(), *value.split(":")}  # fal: KEY_ID:KEY_SECRET, each half a secret too
    fresh = {p.strip() for p in parts if len(p.strip()) >= MIN_SECRET_LEN}
    global _pattern
    with _lock:
        if fresh <= _secrets:
            return
        _secrets.update(fresh)
        # Longest first, so a whole key wins over one of its halves.
        _pattern = re.compile("|".join(re.escape(s) for s in sorted(_secrets, key=len, reverse=True)))


def forget() -> None:
    """Drop every registered value: a process that loads other settings (a test, a long-lived
    embedder) must not blank out words that were someone else's key."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None


def register_header(name: str, value: str) -> None:
    """Header values that carry credentials (a credential name such as auth, key, token, secret,
    cookie, password; or a value shaped like one) are secrets as a whole."""
    from aigw.settings.masking import secret_header

    if secret_header(name, value):
        register(value)
        register(value.split()[-1] if value.split() else None)  # "Bearer X": X alone too


def register_url(url: str | None) -> None:
    """A base URL's credentials are sent too: the password (or a token as the user name) and each
    query value whose name or shape says credential."""
    if not url:
        return
    for value in _url_secrets(url):
        register(value)


@functools.lru_cache(maxsize=256)
def _url_secrets(url: str) -> tuple[str, ...]:
    """What register_url registers, parsed once per URL (a provider is built for every run, from
    the same few base URLs; forget() clears the registered values, not this parse)."""
    from urllib.parse import parse_qsl, unquote, urlsplit

    from aigw.settings.masking import is_secret_name, looks_like_secret

    try:
        parts = urlsplit(url)
    except ValueError:
        return ()
    found: list[str] = []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        user, _, password = userinfo.partition(":")
        for value in (password, user if not password else None):
            if value:
                found += [value, unquote(value)]
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if is_secret_name(name) or name.lower() in ("sig", "code") or looks_like_secret(value):
            found.append(value)
    return tuple(found)


def redact(text: str) -> str:
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return _SHAPES.sub(_shape, text)


def _shape(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)}{match.group(2)}{REDACTED}"
    if match.group(3):
        return f"{match.group(3)}{match.group(4)}{REDACTED}"
    return "sk-" + REDACTED


def neutralise(text: str, *, keep_lines: bool = False) -> str:
    """Printable form of untrusted text: `\\x1b` for ESC and every other control character; line
    breaks collapse to one space unless `keep_lines` (a transcript on a terminal)."""
    text = _BREAKS.sub(" ", text) if not keep_lines else text.replace("\r\n", "\n")
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def clean(text: str, *, limit: int | None = None) -> str:
    """Redacted, on one line, control characters neutralised, shortened to `limit` characters."""
    text = neutralise(redact(text))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
