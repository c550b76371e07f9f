"""The one JSON shape of each command's --json output: every key in every run, null when unknown.

README's tables of keys are checked against these tuples by a test, so the documentation and the
output cannot drift apart.
"""

from __future__ import annotations

from typing import Any

RUN_KEYS = ("id", "kind", "requested_model", "model", "provider", "provider_model", "paths", "cache_paths",
            "cost_usd", "estimated_cost_usd", "cost_as_of", "cost_assumptions", "latency_ms", "created_at",
            "attempts", "warnings", "substituted")
IMAGE_KEYS = RUN_KEYS + ("prompt", "size", "quality", "revised_prompt")
AUDIO_KEYS = RUN_KEYS + ("text", "format", "language", "duration_s", "body")
ATTEMPT_KEYS = ("hop", "provider", "provider_model", "model", "started_at", "latency_ms", "http_status",
                "failure_class", "error", "retry_after_s", "waited_s", "bytes_up", "bytes_down",
                "estimated_cost_usd", "actual_cost_usd", "served", "chunk")
FAILURE_KEYS = ("error", "exit_code", "hint", "id", "attempts")


def attempt_json(attempt: Any) -> dict[str, Any]:
    data = attempt.model_dump(mode="json")
    if isinstance(data.get("latency_ms"), float):
        data["latency_ms"] = round(data["latency_ms"], 1)  # as the run's own latency_ms
    return {key: data.get(key) for key in ATTEMPT_KEYS}


def run_json(result: Any, **extra: Any) -> dict[str, Any]:
    """A finished run as its command's JSON object: exactly the documented keys, in that order."""
    data = result.model_dump(mode="json")
    data["attempts"] = [attempt_json(a) for a in result.attempts]
    data.setdefault("cache_paths", list(result.paths))
    data.update(extra)
    keys = IMAGE_KEYS if result.kind == "image" else AUDIO_KEYS
    return {key: data.get(key) for key in keys}


def failure_json(exc: BaseException, exit_code: int, message: str, hint: str | None) -> dict[str, Any]:
    """What --json prints on stdout when a run fails: the error as stderr shows it, and every attempt."""
    attempts = getattr(exc, "attempts", None) or ()
    return {"error": message, "exit_code": exit_code, "hint": hint, "id": getattr(exc, "run_id", None),
            "attempts": [attempt_json(a) for a in attempts]}
