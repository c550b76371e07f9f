"""Start-up time of `aigw --help` beside `python -c pass` and a bare Typer app with the same five
subcommands. Prints a small table; target: aigw within 1.2x of the bare Typer app.

    python benchmarks/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_APP = '''
import typer
from typing import List, Optional

app = typer.Typer(no_args_is_help=True)
config = typer.Typer()
app.add_typer(config, name="config")


@app.command()
def generate(prompt: Optional[str] = typer.Argument(None), model: Optional[str] = typer.Option(None, "-m"),
             size: Optional[str] = None, n: int = 1, json: bool = False) -> None:
    """Generate images."""


@app.command()
def transcribe(file: str, model: Optional[str] = typer.Option(None, "-m"), language: Optional[str] = None,
               format: Optional[str] = None, json: bool = False) -> None:
    """Transcribe audio."""


@app.command()
def models(available: bool = False, kind: Optional[str] = None, json: bool = False) -> None:
    """List models."""


@app.command()
def bench(model: str = typer.Option(..., "-m"), runs: int = 3, provider: Optional[List[str]] = None) -> None:
    """Benchmark providers."""


@config.command()
def show(json: bool = False) -> None:
    """Show settings."""


@config.command()
def get(key: str) -> None:
    """Get one setting."""


if __name__ == "__main__":
    app()
'''

HEAVY = ("httpx", "pydantic", "pydantic_settings", "rich", "faster_whisper", "av", "ctranslate2")


def timed(cmd: list[str], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000, min(samples) * 1000


def heavy_imports() -> list[str]:
    probe = ("import sys\nfrom aigw.cli.main import run\ntry:\n    run(['--help'])\nexcept SystemExit:\n    pass\n"
             f"print('MODULES:' + ' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    return out.stdout.rsplit("MODULES:", 1)[-1].split()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP)
        rows = [
            ("python -c pass", timed([sys.executable, "-c", "pass"], args.runs)),
            ("bare Typer app --help", timed([sys.executable, str(bare), "--help"], args.runs)),
            ("aigw --help", timed([sys.executable, "-m", "aigw", "--help"], args.runs)),
        ]
    print(f"{'command':<24}{'median ms':>10}{'min ms':>10}")
    for name, (median, best) in rows:
        print(f"{name:<24}{median:>10.1f}{best:>10.1f}")
    ratio = rows[2][1][0] / rows[1][1][0]
    print(f"aigw / bare Typer: {ratio:.2f}x (target <= 1.2x)")
    print(f"heavy modules imported by aigw --help: {', '.join(heavy_imports()) or 'none'}")


if __name__ == "__main__":
    main()
