"""What README's guarantees alone cost per request, written as directly as Python allows.

    python benchmarks/floor.py                    # 3 alternating rounds of 1,000 requests at c=1
    python benchmarks/floor.py --workdir /dev/shm
    python benchmarks/floor.py --concurrency 32   # throughput beside the bare client (target: 0.85x)

The session target of issue 10 item 5 is aigw adding at most 0.3 ms per request at concurrency 1
over a bare `httpx.AsyncClient`. Whatever aigw's engine looks like, each request it runs must at
least: write its `running` row to the run log and commit it before the request goes out (so that a
process killed mid-request leaves a run the next aigw marks `interrupted`); after the reply, put
the paid image's bytes, its provenance embedded, in a private `.part` file with their sha256; commit
the file row, the served attempt and the run's end in one transaction; rename the file into place.
This script does exactly that around the bare client's request, with aigw's own run log (schema,
indexes, WAL, synchronous=NORMAL) and provenance code, and nothing else: no planning, failover,
events, models or pricing. Its figure is a floor under any implementation that keeps those
promises; the time between it and `python -m benchmarks`'s aigw figure is what the engine's own
code costs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import aigw_workspace, machine, run_load  # noqa: E402
from benchmarks.fastfake import FastFake  # noqa: E402

BODY = {"model": "gpt-image-2", "prompt": "a lighthouse on a cliff at dusk, watercolour", "n": 1}


class Floor:
    def __init__(self, url: str, cache: Path) -> None:
        import httpx

        from aigw.store.db import RunLog

        self.client = httpx.AsyncClient(timeout=httpx.Timeout(300.0, connect=10.0))
        self.url = url + "/images/generations"
        self.cache = cache
        self.log = RunLog(cache / "aigw.db", keep_open=True)
        self.count = 0

    async def bare(self) -> None:
        resp = await self.client.post(self.url, json=BODY)
        if resp.status_code != 200 or not resp.json()["data"]:
            raise RuntimeError(f"bare: HTTP {resp.status_code}")

    async def floor(self) -> None:
        from aigw.store.provenance import embed

        conn, now = self.log.conn, datetime.now(timezone.utc)
        self.count += 1
        run_id = f"{now:%Y%m%d-%H%M%S}-{self.count:06d}"
        conn.execute("INSERT INTO runs (id, kind, created_at, status, requested_model, estimated_cost_usd,"
                     " request_json, owner) VALUES (?, 'image', ?, 'running', ?, 0.04, ?, ?)",
                     (run_id, now.isoformat(), BODY["model"], json.dumps(BODY), "1:2:3"))
        t0 = time.monotonic()
        resp = await self.client.post(self.url, json=BODY)
        if resp.status_code != 200:
            raise RuntimeError(f"floor: HTTP {resp.status_code}")
        data = base64.b64decode(resp.json()["data"][0]["b64_json"])
        data = embed(data, "png", {"run_id": run_id, "model": BODY["model"], "provider": "primary",
                                   "prompt": BODY["prompt"], "cost_usd": 0.04})
        folder = self.cache / "results" / now.strftime("%Y-%m-%d")
        final = folder / f"{run_id}.png"
        part = folder / f".{final.name}.{os.getpid()}.part"
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except FileNotFoundError:
            folder.mkdir(parents=True, mode=0o700)
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, data)
        os.close(fd)
        digest = hashlib.sha256(data).hexdigest()
        latency = (time.monotonic() - t0) * 1000
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO files (run_id, path, bytes, sha256, created_at) VALUES (?, ?, ?, ?, ?)",
                     (run_id, str(final), len(data), digest, now.isoformat()))
        conn.execute("INSERT INTO attempts (run_id, hop, provider, provider_model, model, started_at, latency_ms,"
                     " http_status, bytes_up, bytes_down, estimated_cost_usd, actual_cost_usd, served)"
                     " VALUES (?, 1, 'primary', ?, ?, ?, ?, 200, ?, ?, 0.04, 0.04, 1)",
                     (run_id, BODY["model"], BODY["model"], now.isoformat(), latency, 100, len(resp.content)))
        conn.execute("UPDATE runs SET status='ok', model=?, provider='primary', provider_model=?, cost_usd=0.04,"
                     " latency_ms=?, exit_code=0, result_json=? WHERE id=?",
                     (BODY["model"], BODY["model"], latency,
                      json.dumps({"id": run_id, "paths": [str(final)], "cost_usd": 0.04}), run_id))
        conn.execute("COMMIT")
        os.replace(part, final)

    async def close(self) -> None:
        await self.client.aclose()
        self.log.really_close()


async def measure(url: str, cache: Path, rounds: int, requests: int, concurrency: int) -> list[tuple[float, float]]:
    """Per round: (added ms per request, added CPU ms) at c=1, else (throughput ratio, CPU ratio)."""
    floor = Floor(url, cache)
    pairs: list[tuple[float, float]] = []
    try:
        for r in range(rounds):
            got: dict[str, Any] = {}
            for variant in (("bare", "floor") if r % 2 == 0 else ("floor", "bare")):
                call = floor.bare if variant == "bare" else floor.floor
                got[variant] = await run_load(variant, call, requests=requests, concurrency=concurrency, warmup=50)
            bare, kept = got["bare"], got["floor"]
            if concurrency == 1:
                pairs.append((kept.mean_ms - bare.mean_ms, (kept.cpu_us - bare.cpu_us) / 1000))
                print(f"  round {r + 1}: bare {bare.mean_ms:.3f} ms, floor {kept.mean_ms:.3f} ms,"
                      f" added {pairs[-1][0]:+.3f} ms (CPU {pairs[-1][1]:+.3f} ms)", flush=True)
            else:
                pairs.append((kept.rps / bare.rps, bare.cpu_us / kept.cpu_us))
                print(f"  round {r + 1}: bare {bare.rps:.0f} req/s, floor {kept.rps:.0f} req/s, {pairs[-1][0]:.2f}x"
                      f" (CPU {pairs[-1][1]:.2f}x)", flush=True)
    finally:
        await floor.close()
    return pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--workdir", help="where the run log and results go (default: the system temp dir)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with FastFake(modes=("ok",)) as fake, aigw_workspace({"primary": fake.url()}, workdir=args.workdir) as home:
        pairs = asyncio.run(measure(fake.url(), home / "cache", args.rounds, args.requests, args.concurrency))
    first = statistics.median(p[0] for p in pairs)
    cpu = statistics.median(p[1] for p in pairs)
    if args.concurrency == 1:
        print(f"\nREADME's guarantees alone add {first:+.3f} ms per request at c=1 (CPU {cpu:+.3f} ms), median of "
              f"{args.rounds} rounds; the session target for all of aigw is +0.3 ms")
    else:
        print(f"\nREADME's guarantees alone keep {first:.2f}x the bare client's throughput at c={args.concurrency} "
              f"(CPU {cpu:.2f}x), median of {args.rounds} rounds; the session target for all of aigw is 0.85x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
