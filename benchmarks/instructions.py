"""Instructions per request, aigw's session beside the bare client: a figure the machine's load cannot move.

    python benchmarks/instructions.py               # 200 requests per variant (about 4 minutes)
    python benchmarks/instructions.py --by-library  # also where aigw's extra instructions run
    python benchmarks/instructions.py --floor       # also benchmarks/floor.py: README's guarantees alone

On a machine whose cores other programs share, the time figures of `python -m benchmarks` move by a
factor of two from one minute to the next, while a change to aigw's hot path moves them by a few
percent. This counts what a change does instead: each variant (the bare httpx client, and
`engine.run()` on one engine, as `overhead.py` runs them) runs under valgrind's callgrind twice, with
W and with W + N requests after the same start-up and warm-up, and the difference divided by N is
the user-space instructions one request costs. It leaves out the kernel's time (the run log's and
the result file's system calls) and cache misses, so it ranks changes; the time targets are still
measured by `python -m benchmarks`.

Needs valgrind on PATH; the fake server (its own process) is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WARMUP = 50


def child(variant: str, requests: int, one_provider: bool) -> None:
    """What runs under valgrind: start-up, the warm-up, then `requests` more of `variant`."""
    from benchmarks._common import aigw_workspace
    from benchmarks.fastfake import FastFake
    from benchmarks.floor import Floor
    from benchmarks.overhead import Bench

    async def go() -> None:
        with FastFake(modes=("ok",)) as fake, FastFake(modes=("ok",)) as fake2:
            providers = {"primary": fake.url()} if one_provider else {"primary": fake.url(), "secondary": fake2.url()}
            with aigw_workspace(providers, workdir="/dev/shm" if os.path.isdir("/dev/shm") else None) as home:
                bench = Bench(fake.url(), fake2.url())
                await bench.open(False)
                floor = Floor(fake.url(), home / "floor") if variant == "floor" else None
                call = floor.floor if floor is not None else bench.bare if variant == "bare" else bench.aigw_reuse
                try:
                    for _ in range(WARMUP + requests):
                        await call()
                finally:
                    await bench.close()
                    if floor is not None:
                        await floor.close()

    asyncio.run(go())


def counted(variant: str, requests: int, one_provider: bool, out: Path | None) -> int:
    """Instructions of a child run (`requests` after the warm-up), from callgrind's summary."""
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out or os.devnull}", sys.executable,
           __file__, "--child", variant, "--requests", str(requests)] + (["--one-provider"] if one_provider else [])
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = re.search(r"Collected\s*:\s*([\d,]+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def by_library(path: Path) -> Counter[str]:
    """Instructions by shared object (libpython split by source file), from callgrind_annotate."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", str(path)],
                          capture_output=True, text=True, check=True).stdout
    out: Counter[str] = Counter()
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \(.*?\)\s+(.*)\[(.*?)\]\s*$", line)
        if not m:
            continue
        count, where, obj = int(m.group(1).replace(",", "")), m.group(2), m.group(3).rsplit("/", 1)[-1]
        if obj.startswith("libpython"):
            obj = "python: " + where.split(":")[0].rsplit("/", 1)[-1]
        out[obj] += count
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="requests counted per variant")
    parser.add_argument("--one-provider", action="store_true",
                        help="one candidate serving the model (default: two, as overhead.py has them)")
    parser.add_argument("--by-library", action="store_true", help="where aigw's extra instructions run")
    parser.add_argument("--floor", action="store_true", help="also benchmarks/floor.py's request: the guarantees alone")
    parser.add_argument("--child", choices=["bare", "aigw", "floor"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.requests, args.one_provider)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed; this figure needs it (apt install valgrind)", file=sys.stderr)
        return 2
    print(f"{'variant':<8} {'instructions per request':>26}", flush=True)
    per: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = {v: Path(tmp) / f"{v}.out" for v in ("bare", "aigw", "floor")}
        for variant in ("bare", "aigw", "floor") if args.floor else ("bare", "aigw"):
            base = counted(variant, 0, args.one_provider, None)
            full = counted(variant, args.requests, args.one_provider, files[variant] if args.by_library else None)
            per[variant] = (full - base) // args.requests
            print(f"{variant:<8} {per[variant] / 1000:>24,.0f} k", flush=True)
        added = per["aigw"] - per["bare"]
        print(f"aigw adds {added / 1000:,.0f} k instructions per request, {added / per['bare']:.0%} of the bare "
              f"client's ({'one provider' if args.one_provider else 'two providers'} serving the model)")
        if args.floor:
            floor = per["floor"] - per["bare"]
            print(f"README's guarantees alone (benchmarks/floor.py) add {floor / 1000:,.0f} k, {floor / per['bare']:.0%}")
        if args.by_library:
            # Each file holds the same start-up, then WARMUP + N requests of its own variant (aigw's
            # also opens the run log once: a constant, small beside the requests).
            a, b = by_library(files["aigw"]), by_library(files["bare"])
            rows = sorted(((a[k] - b[k]) / (WARMUP + args.requests), k) for k in set(a) | set(b))
            print("\nwhere aigw's extra instructions run, per request:")
            for diff, name in reversed(rows[-15:]):
                print(f"  {diff / 1000:9,.1f} k  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
