"""How `aigw logs` reads to a person: one line per run, or a whole run with every attempt. No tabs,
no control characters from prompts or transcripts; truncated to the terminal's width only on one."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aigw.catalog.pricing import usd_text
from aigw.redact import clean

MISSING = "(file missing)"


def when(iso: str) -> str:
    """A logged UTC time as local time, to the second."""
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def money(usd: float | None) -> str:
    if usd is None:
        return "-"
    return "$0" if usd == 0 else usd_text(usd)


def seconds(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f} s"


def one_line(text: str | None) -> str:
    return " ".join(clean(text or "", limit=10_000).split())


def status(run: Any) -> str:
    row = run.row
    label = "cached" if run.cache_hit else row["status"]
    code = row["exit_code"]
    return label if code in (0, None) else f"{label} (exit {code})"


def subject(run: Any) -> str:
    """The prompt of an image run, the input file of a transcription."""
    if run.row["kind"] == "audio":
        return one_line(run.request.get("file"))
    return one_line(run.request.get("prompt"))


def result_path(run: Any) -> str:
    if not run.files:
        return "-"
    first = run.files[0]
    more = f" (+{len(run.files) - 1})" if len(run.files) > 1 else ""
    return first["path"] + ("" if first["exists"] else " " + MISSING) + more


def line(run: Any, width: int | None = None) -> str:
    """local time, kind, model -> provider, cost, latency, status, prompt or input, result path.
    With `width` (a terminal) the prompt is shortened so that the line fits."""
    row = run.row
    served = row["model"] or row["requested_model"]
    via = f"{served} -> {row['provider']}" if row["provider"] else served
    cost = row["cost_usd"] if row["cost_usd"] is not None else _spent(run)
    head = f"{when(row['created_at'])}  {row['kind']:<5}  {via}  {money(cost)}  {seconds(row['latency_ms'])}  {status(run)}"
    what, where = subject(run), result_path(run)
    if width is not None:
        room = width - len(head) - len(where) - 6
        if room < len(what) + 2:
            what = what[:max(room - 1, 8)] + "…"
    shown = f'"{what}"' if run.row["kind"] == "image" else what
    return f"{head}  {shown}  {where}"


def _spent(run: Any) -> float | None:
    known = [a["actual_cost_usd"] for a in run.attempts if a["actual_cost_usd"] is not None]
    return sum(known) if known else None


def detail(run: Any) -> list[str]:
    """The whole run: what was asked, what served, what it cost, every attempt, files and jobs."""
    row, req, res = run.row, run.request, run.result or {}
    out = [f"run        {row['id']}",
           f"started    {when(row['created_at'])} ({row['created_at']})",
           f"kind       {row['kind']}",
           f"status     {status(run)}"]
    asked = row["requested_model"]
    served = f"{row['model']} at {row['provider']} ({row['provider_model']})" if row["provider"] else "-"
    out.append(f"model      {asked}" + (f" -> {served}" if row["provider"] else " (not served)"))
    out.append(f"cost       {money(row['cost_usd'])} (estimated {money(row['estimated_cost_usd'])})")
    out.append(f"latency    {seconds(row['latency_ms'])}")
    if run.cache_of:
        out.append(f"cache      answered from run {run.cache_of} (saved {money(run.saved_usd)})")
    if row["kind"] == "image":
        out.append(f"prompt     {one_line(res.get('prompt') or req.get('prompt'))}")
        for key in ("negative_prompt", "size", "quality", "seed"):
            if req.get(key) is not None:
                out.append(f"{key.replace('_', ' '):<10} {one_line(str(req[key]))}")
    else:
        size = f" ({req['file_bytes']} bytes, sha256 {req['file_sha256']})" if req.get("file_sha256") else ""
        out.append(f"input      {one_line(req.get('file'))}{size}")
        out.append(f"format     {req.get('format')}")
        if res.get("text") is not None:
            out.append(f"transcript {one_line(res['text'])[:200]}")
    for label, key in (("error", "error"), ("delivery", "delivery_error")):
        if row.get(key):
            out.append(f"{label:<10} {one_line(row[key])}")
    for f in run.files:
        mark = "" if f["exists"] else f"  {MISSING}"
        out.append(f"file       {f['path']}  {f['bytes']} bytes  sha256 {f['sha256']}{mark}")
    out.append(f"attempts   {len(run.attempts)}")
    for a in run.attempts:
        outcome = "served" if a["served"] else (a["failure_class"] or "failed")
        http = f"HTTP {a['http_status']}" if a["http_status"] is not None else "no HTTP status"
        waits = f"waited {a['waited_s']:g} s" + (f", advised {a['retry_after_s']:g} s" if a["retry_after_s"] else "")
        billed = "  possibly billed" if a["possibly_billed"] else ""
        out.append(f"  {a['hop']}. {a['provider']} {a['provider_model']}  {outcome}  {http}  "
                   f"{seconds(a['latency_ms'])}  {waits}  up {a['bytes_up']} B  down {a['bytes_down']} B  "
                   f"estimated {money(a['estimated_cost_usd'])}  cost {money(a['actual_cost_usd'])}{billed}")
        if a["error"]:
            out.append(f"     {one_line(a['error'])}")
    for j in run.jobs:
        out.append(f"job        {j['provider']} {j['job_id']} {j['status']} ({when(j['updated_at'])})")
    return out


def carried(fields: dict[str, str]) -> str:
    """What a file says about itself, when the run log no longer has its run."""
    return json.dumps(fields, ensure_ascii=False)
