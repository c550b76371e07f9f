"""The one JSON shape of each command's --json output: every key in every run, null when unknown.

README's tables of keys are checked against these tuples by a test, so the documentation and the
output cannot drift apart.
"""

from __future__ import annotations

from typing import Any

RUN_KEYS = ("id", "kind", "requested_model", "model", "provider", "provider_model", "paths", "cache_paths",
            "cost_usd", "estimated_cost_usd", "cost_as_of", "cost_assumptions", "latency_ms", "created_at",
            "attempts", "warnings", "substituted", "cache_hit", "cache_of")
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


# ---- aigw logs / aigw stats -------------------------------------------------------------------

LOG_KEYS = ("status", "exit_code", "error", "delivery_error", "input", "files", "jobs")
FILE_KEYS = ("path", "bytes", "sha256", "exists")
INPUT_KEYS = ("path", "bytes", "sha256")
JOB_KEYS = ("provider", "job_id", "status", "updated_at")
STATS_KEYS = ("since", "until", "by", "totals", "groups", "budget")
METRIC_KEYS = ("requests", "ok", "failed", "success_rate", "attempts", "failovers", "served_by_later_hop",
               "latency_p50_ms", "latency_p95_ms", "cost_usd", "estimated_cost_usd", "avg_cost_usd", "drift_usd",
               "drift_pct", "unpriced_runs", "possibly_billed_usd", "cache_hits", "cache_saved_usd")
BUDGET_KEYS = ("limit_usd", "spent_usd", "remaining_usd")


def _rounded(value: Any) -> Any:
    return round(value, 1) if isinstance(value, float) else value


def logged_attempt_json(row: dict[str, Any]) -> dict[str, Any]:
    """An attempt row of the run log, in the shape of a run's --json attempt."""
    data = {key: row.get(key) for key in ATTEMPT_KEYS}
    data["served"] = bool(data["served"])
    data["latency_ms"] = _rounded(data["latency_ms"])
    data["started_at"] = _utc_text(data["started_at"])
    return data


def logged_json(run: Any) -> dict[str, Any]:
    """A logged run (aigw/store/history.py LoggedRun) as `aigw logs --json` prints it: the keys of
    its command's --json, then what the log knows besides (status, files, input, jobs...). The
    finished run's own record is used where there is one; a run that failed has only the request."""
    row, req, res = run.row, run.request, run.result or {}
    paths = [f["path"] for f in run.files]
    data: dict[str, Any] = {
        "id": row["id"], "kind": row["kind"], "requested_model": row["requested_model"], "model": row["model"],
        "provider": row["provider"], "provider_model": row["provider_model"], "paths": paths,
        "cache_paths": paths, "cost_usd": row["cost_usd"], "estimated_cost_usd": row["estimated_cost_usd"],
        "cost_as_of": res.get("cost_as_of"), "cost_assumptions": res.get("cost_assumptions") or [],
        "latency_ms": _rounded(row["latency_ms"]), "created_at": res.get("created_at") or _utc_text(row["created_at"]),
        "attempts": [logged_attempt_json(a) for a in run.attempts], "warnings": res.get("warnings") or [],
        "substituted": bool(res.get("substituted")),
        "prompt": res.get("prompt") or req.get("prompt"), "size": res.get("size", req.get("size")),
        "quality": res.get("quality", req.get("quality")), "revised_prompt": res.get("revised_prompt"),
        "text": res.get("text"), "format": req.get("format"), "language": res.get("language") or req.get("language"),
        "duration_s": res.get("duration_s"), "body": _body(run),
        "status": row["status"], "exit_code": row["exit_code"], "error": row["error"],
        "delivery_error": row.get("delivery_error"),
        "input": ({"path": req.get("file"), "bytes": req.get("file_bytes"), "sha256": req.get("file_sha256")}
                  if row["kind"] == "audio" else None),
        "files": [{key: f.get(key) for key in FILE_KEYS} for f in run.files],
        "jobs": [{key: j.get(key) for key in JOB_KEYS} for j in run.jobs],
        # The result cache's keys, for when a run's --json has them (cache branch): the log knows both.
        "cache_hit": run.cache_hit, "cache_of": run.cache_of,
    }
    keys = (IMAGE_KEYS if row["kind"] == "image" else AUDIO_KEYS) + LOG_KEYS
    return {key: data.get(key) for key in keys}


def _utc_text(iso: Any) -> Any:
    """A logged time as a run's --json writes it (pydantic's UTC form, ending in Z)."""
    return iso[:-6] + "Z" if isinstance(iso, str) and iso.endswith("+00:00") else iso


def _body(run: Any) -> str | None:
    """A transcript run's body: its result file, while it is there."""
    if run.row["kind"] != "audio":
        return None
    for f in run.files:
        if f["exists"]:
            try:
                with open(f["path"], encoding="utf-8") as fh:
                    return str(fh.read())
            except (OSError, UnicodeDecodeError):
                return None
    return None
