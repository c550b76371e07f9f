"""The chunks of a long recording's run (migration m011_chunks): kept as each finishes, found again
by `--resume`. Written through the run log's connection; each write commits at once, so a chunk
that was paid for is on record before the next one is sent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aigw.store.db import RunLog

RESUMABLE = ("interrupted", "failed")  # a "running" one may belong to a live aigw


@dataclass(frozen=True)
class ChunkRow:
    idx: int
    offset_s: float
    own_start_s: float
    end_s: float
    bytes: int
    sha256: str
    status: str
    provider: str | None
    model: str | None
    cost_usd: float | None
    result: dict[str, Any]


def record(log: RunLog, run_id: str, row: ChunkRow, at: datetime) -> None:
    log.conn.execute(
        "INSERT OR REPLACE INTO chunks (run_id, idx, offset_s, own_start_s, end_s, bytes, sha256, status, provider,"
        " model, cost_usd, result_json, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (run_id, row.idx, row.offset_s, row.own_start_s, row.end_s, row.bytes, row.sha256, row.status,
         row.provider, row.model, row.cost_usd, json.dumps(row.result), at.isoformat()))


def mark_attempt(log: RunLog, run_id: str, hop: int, chunk: int) -> None:
    log.conn.execute("UPDATE attempts SET chunk = ? WHERE run_id = ? AND hop = ?", (chunk, run_id, hop))


def of_run(log: RunLog, run_id: str) -> list[ChunkRow]:
    rows = log.conn.execute(
        "SELECT idx, offset_s, own_start_s, end_s, bytes, sha256, status, provider, model, cost_usd, result_json"
        " FROM chunks WHERE run_id = ? ORDER BY idx", (run_id,)).fetchall()
    return [ChunkRow(idx=r[0], offset_s=r[1], own_start_s=r[2], end_s=r[3], bytes=r[4], sha256=r[5], status=r[6],
                     provider=r[7], model=r[8], cost_usd=r[9], result=json.loads(r[10])) for r in rows]


def resumable(log: RunLog, *, audio_sha256: str, options_key: str) -> str | None:
    """The latest run of the same audio and options that did not finish, if any."""
    row = log.conn.execute(
        "SELECT id FROM runs WHERE kind = 'audio' AND status IN (?, ?)"
        " AND json_extract(request_json, '$.chunking.audio_sha256') = ?"
        " AND json_extract(request_json, '$.chunking.options_key') = ? ORDER BY id DESC LIMIT 1",
        (*RESUMABLE, audio_sha256, options_key)).fetchone()
    return str(row[0]) if row else None
