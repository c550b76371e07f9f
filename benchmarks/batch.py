"""A `--batch` of N prompts against the zero-latency fake, beside a bare httpx client.

    python benchmarks/batch.py                   # 1,000 items at --concurrency 32
    python benchmarks/batch.py --items 200 --concurrency 8

The fake (benchmarks/fastfake.py) runs in its own process. `bare-httpx` posts the same number of
image requests with one shared httpx.AsyncClient at the same concurrency; `aigw --batch` is the
installed entry point as a user runs it (`python -m aigw generate --batch FILE -q`), in a fresh
temporary workspace, so its figure includes start-up, planning every line, writing every result
file and every run-log row (runs, attempts, files, batch items). Issue 10's target: the batch at
--concurrency 32 reaches at least 0.8x the bare client's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import MODEL, PROMPT, aigw_workspace, machine  # noqa: E402
from benchmarks.fastfake import FastFake  # noqa: E402

TARGET_RATIO = 0.8


async def bare(url: str, items: int, concurrency: int) -> float:
    import httpx

    body = {"model": MODEL, "prompt": PROMPT, "n": 1}
    todo = iter(range(items))
    async with httpx.AsyncClient(timeout=httpx.Timeout(300.0, connect=10.0)) as client:

        async def worker() -> None:
            for _ in todo:
                resp = await client.post(url + "/images/generations", json=body)
                if resp.status_code != 200 or not resp.json()["data"]:
                    raise RuntimeError(f"bare: HTTP {resp.status_code}")

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0


def batch(fake: FastFake, items: int, concurrency: int, workdir: str | None) -> float:
    with aigw_workspace({"primary": fake.url()}, workdir=workdir) as home:
        prompts = home / "prompts.txt"
        prompts.write_text("".join(f"{PROMPT}, take {n}\n" for n in range(items)))
        before = fake.count()
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "aigw", "-q", "generate", "--batch", str(prompts), "-m", MODEL,
                               "--concurrency", str(concurrency)], capture_output=True, text=True, env=os.environ)
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or len(proc.stdout.splitlines()) != items or fake.count() - before != items:
            raise RuntimeError(f"aigw --batch exited {proc.returncode}: {proc.stderr[-2000:]}")
        return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1, help="repeat and report the median of each")
    parser.add_argument("--workdir", help="where the temp config and cache go (default: the system temp dir)")
    args = parser.parse_args()
    print(machine())
    with FastFake() as fake:
        asyncio.run(bare(fake.url(), 100, args.concurrency))  # warm-up: the fake's first connections
        bare_s = sorted(asyncio.run(bare(fake.url(), args.items, args.concurrency)) for _ in range(args.rounds))
        aigw_s = sorted(batch(fake, args.items, args.concurrency, args.workdir or tempfile.gettempdir())
                        for _ in range(args.rounds))
    b, a = bare_s[len(bare_s) // 2], aigw_s[len(aigw_s) // 2]
    print(f"{'variant':<14}{'items':>7}{'conc':>6}{'wall s':>9}{'items/s':>10}")
    print(f"{'bare-httpx':<14}{args.items:>7}{args.concurrency:>6}{b:>9.2f}{args.items / b:>10.1f}")
    print(f"{'aigw --batch':<14}{args.items:>7}{args.concurrency:>6}{a:>9.2f}{args.items / a:>10.1f}")
    ratio = b / a
    print(f"aigw --batch / bare: {ratio:.2f}x throughput (target {TARGET_RATIO}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
