"""How `aigw logs` and `aigw stats` scale with the size of the run log, and what the search index
costs each run.

    python benchmarks/logs.py                   # 10,000 runs
    python benchmarks/logs.py --runs 50000

Builds a run log of N runs in a temporary cache directory through aigw's own RunLog (one start,
one or two attempts, one file and one finish per run, as a real run writes them; a tenth are
transcripts), then times, each as the median of 7 calls after one warm-up:

  insert/run      the writes of one run, with the search index's triggers, then without them
  logs -n 20      History.runs(Filters(limit=20)): the newest 20 with attempts, files and jobs
  logs --search   a word in 1% of the prompts, then a transcript word in every transcript
  logs --for      History.made(path) by the sha256 of a copied result (not by path)
  stats 7d / all  History.runs + summarise over the last 7 days, then over every run
  cli logs/stats  `python -m aigw logs` and `python -m aigw stats --since all` as processes

Nothing here is imported by aigw or its tests.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aigw.store import open_store  # noqa: E402
from aigw.store.history import Filters, History  # noqa: E402
from aigw.store.stats import summarise  # noqa: E402
from aigw.types import Attempt, RunResult  # noqa: E402

WORDS = "red green blue apple pear harbour lighthouse fox cat dusk watercolour cinematic table".split()


def fill(cache: Path, n: int, *, triggers: bool = True) -> tuple[float, Path]:
    """N runs over the last 30 days; returns seconds per run and one result path."""
    log = open_store(cache)
    if not triggers:
        for name in ("runs_search_started", "runs_search_finished"):
            log.conn.execute(f"DROP TRIGGER {name}")
    start = datetime.now(timezone.utc) - timedelta(days=30)
    results = cache / "results"
    results.mkdir(parents=True, exist_ok=True)
    last = results / "none"
    t0 = time.perf_counter()
    log.conn.execute("BEGIN")
    for i in range(n):
        created = start + timedelta(seconds=i * 30 * 86400 / n)
        run_id = f"{created:%Y%m%d-%H%M%S}-{i % 1000:03d}-{i:06x}"
        audio = i % 10 == 0
        prompt = " ".join(WORDS[(i * k) % len(WORDS)] for k in (1, 3, 7)) + (" zebra" if i % 100 == 1 else "")
        request = {"file": f"/home/me/talks/talk-{i}.mp3", "file_bytes": 1000, "file_sha256": "0" * 64} if audio \
            else {"prompt": prompt, "model": "gpt-image-2"}
        log.start_run(run_id, kind="audio" if audio else "image", created_at=created, requested_model="gpt-image-2",
                      request=request, estimated_cost_usd=0.04)
        hops = 2 if i % 20 == 0 else 1
        attempts = [Attempt(hop=h, provider="openai" if h == hops else "fal", provider_model="m", model="m",
                            started_at=created, latency_ms=900.0 + i % 500, served=h == hops,
                            failure_class=None if h == hops else "retryable", estimated_cost_usd=0.04,
                            actual_cost_usd=0.042 if h == hops else None) for h in range(1, hops + 1)]
        for a in attempts:
            log.add_attempt(run_id, a)
        path = results / f"{run_id}.png"
        log.record_file(run_id, path, 1000, hashlib.sha256(run_id.encode()).hexdigest(), created)
        log.finish_run(RunResult(id=run_id, kind="audio" if audio else "image", requested_model="gpt-image-2",
                                 model="gpt-image-2", provider="openai", provider_model="m", paths=[str(path)],
                                 cost_usd=0.042, estimated_cost_usd=0.04, latency_ms=1000.0, created_at=created,
                                 attempts=attempts, text="the quarterly budget is approved" if audio else None))
        last = path
        if i == n // 2:
            path.write_bytes(run_id.encode())  # a result whose copy --for looks up by content
            last = path
    log.conn.execute("COMMIT")
    per_run = (time.perf_counter() - t0) / n
    log.really_close()
    return per_run, last


def timed(fn, repeat: int = 7) -> float:  # type: ignore[no-untyped-def]
    fn()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plain, _ = fill(Path(tmp) / "plain", args.runs, triggers=False)
        cache = Path(tmp) / "cache"
        indexed, _ = fill(cache, args.runs)
        copied = Path(tmp) / "copy.png"
        half = sorted((cache / "results").glob("*.png"))
        copied.write_bytes(half[0].read_bytes())
        log = open_store(cache)
        history = History(log.conn)
        week = datetime.now(timezone.utc) - timedelta(days=7)
        rows = [
            ("insert/run, with index", indexed * 1000), ("insert/run, without", plain * 1000),
            ("logs -n 20", timed(lambda: history.runs(Filters(limit=20)))),
            ("logs --search zebra (1%)", timed(lambda: history.runs(Filters(search="zebra")))),
            ("logs --search quarterly (10%)", timed(lambda: history.runs(Filters(search="quarterly")))),
            ("logs --for a copy (sha256)", timed(lambda: history.made(copied))),
            ("stats --since 7d", timed(lambda: summarise(history.runs(Filters(since=week))))),
            ("stats --since all", timed(lambda: summarise(history.runs(Filters())), repeat=3)),
        ]
        log.really_close()
        env = {**os.environ, "AIGW_CACHE_DIR": str(cache), "AIGW_CONFIG": str(Path(tmp) / "config.toml")}
        for label, argv in (("cli: aigw logs", ["logs"]), ("cli: aigw stats --since all", ["stats", "--since", "all"])):
            rows.append((label, timed(lambda: subprocess.run([sys.executable, "-m", "aigw", *argv], env=env,
                                                             capture_output=True, check=True), repeat=3)))
    print(f"{args.runs} runs, Python {sys.version.split()[0]}, SQLite {__import__('sqlite3').sqlite_version}")
    print(f"{'what':<32} {'median ms':>10}")
    for label, ms in rows:
        print(f"{label:<32} {ms:>10.3f}")


if __name__ == "__main__":
    main()
