"""A transcript asked for as text, SRT or WebVTT, however the server or gateway packed it.

OpenAI answers these three formats as `text/plain`. Gateways in front of it re-encode that answer as
JSON, each in its own way:

* LiteLLM's proxy returns its transcription object, `{"text": "<the body>", ...}`;
* Portkey's gateway (`@portkey-ai/gateway` 1.15.2, build/start-server.js) reads a `text/plain` or
  `text/html` upstream answer with `await e.text()` and hands `{"html-message": text}` to the
  provider's response transform, then answers it as `application/json`.

Rather than one branch per gateway, the body is the one string field of the JSON object that looks
like the format asked for (an SRT has `-->` timings, a WebVTT file starts with `WEBVTT`). For `text`
nothing can be checked, so it is the transcript's own `text` field or the object's only string field. What
fits neither is a mis-shaped reply, reported with the provider's name and the start of what came back.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from aigw import errors

SHOWN_CHARS = 200  # of an answer that could not be read, in the error message


def looks_like(fmt: str, body: str) -> bool:
    """Whether `body` can be a transcript in `fmt` (only the cheap structural marks)."""
    head = body.lstrip("\ufeff \t\r\n")
    if fmt == "vtt":
        return head.startswith("WEBVTT")
    if fmt == "srt":
        return "-->" in head and not head.startswith("WEBVTT")
    return True


def text_answer(resp: httpx.Response, fmt: str, *, provider: str) -> tuple[str, dict[str, Any]]:
    """The body in `fmt` and the JSON object it came in (empty when it came as plain text)."""
    raw = resp.text
    wrapper = _json_object(raw) if "json" in resp.headers.get("content-type", "") or raw.lstrip()[:1] == "{" else None
    if wrapper is None:
        if "json" in resp.headers.get("content-type", ""):
            raise _unreadable(provider, fmt, raw, resp.status_code, "a JSON answer that is no JSON object")
        return raw, {}
    strings = {key: value for key, value in wrapper.items() if isinstance(value, str)}
    if strings and not any(value.strip() for value in strings.values()):
        raise errors.EmptyResultError(f"{provider}: empty transcript", provider=provider)
    if fmt == "text":
        if "text" in strings:
            return strings["text"], wrapper
        if len(strings) == 1:
            return next(iter(strings.values())), wrapper
        raise _unreadable(provider, fmt, raw, resp.status_code, "a JSON object with no text field")
    bodies = {value for value in strings.values() if looks_like(fmt, value)}
    if len(bodies) == 1:
        return bodies.pop(), wrapper
    found = f"several different {fmt.upper()} bodies" if bodies else f"no {fmt.upper()} body"
    reason = f"a JSON object with {found} in it"
    raise _unreadable(provider, fmt, raw, resp.status_code, reason)


def _json_object(raw: str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _unreadable(provider: str, fmt: str, raw: str, status: int, reason: str) -> errors.RetryableError:
    shown = repr(raw) if len(raw) <= SHOWN_CHARS else repr(raw[:SHOWN_CHARS]) + f"… ({len(raw):,} characters)"
    return errors.RetryableError(
        f"{provider}: asked for {fmt}, got {reason}: {shown}",
        provider=provider, status=status)
