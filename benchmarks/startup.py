"""Start-up time of `aigw --help` beside `python -c pass` and a bare Typer app with the same five
subcommands, each run as a fresh process with this interpreter. Prints a small table (median and
min wall time), the ratio aigw / bare Typer (target: within 1.2x), and which heavy packages help
loads, with the module that first imported each.

    python benchmarks/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_APP = '''
from typing import List, Optional

import typer

app = typer.Typer(name="bare", no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
config = typer.Typer(help="Show and change settings.")
app.add_typer(config, name="config")


@app.command()
def generate(prompt: Optional[str] = typer.Argument(None, help="The prompt."),
             model: Optional[str] = typer.Option(None, "--model", "-m", help="Model id."),
             size: Optional[str] = typer.Option(None, "--size", "-s", help="WIDTHxHEIGHT."),
             n: int = typer.Option(1, "-n", help="How many images."),
             json: bool = typer.Option(False, "--json", help="JSON on stdout.")) -> None:
    """Generate images from a prompt."""


@app.command()
def transcribe(file: str = typer.Argument(..., help="Audio file."),
               model: Optional[str] = typer.Option(None, "--model", "-m", help="Model id."),
               language: Optional[str] = typer.Option(None, "--language", help="ISO code."),
               format: str = typer.Option("text", "--format", "-f", help="text, srt, vtt."),
               json: bool = typer.Option(False, "--json", help="JSON on stdout.")) -> None:
    """Transcribe an audio file."""


@app.command()
def models(available: bool = typer.Option(False, "--available", help="Only configured ones."),
           kind: Optional[str] = typer.Option(None, "--kind", help="image or audio."),
           json: bool = typer.Option(False, "--json", help="JSON on stdout.")) -> None:
    """List models."""


@app.command()
def bench(model: str = typer.Option(..., "--model", "-m", help="Model id."),
          runs: int = typer.Option(3, "--runs", help="Runs per provider."),
          provider: Optional[List[str]] = typer.Option(None, "--provider", help="Only these.")) -> None:
    """Benchmark providers."""


@config.command()
def show(json: bool = typer.Option(False, "--json", help="JSON on stdout.")) -> None:
    """Show settings."""


@config.command()
def get(key: str = typer.Argument(..., help="A dotted key.")) -> None:
    """Get one setting."""


@config.command()
def set(key: str = typer.Argument(...), value: str = typer.Argument(...)) -> None:
    """Set one setting."""


if __name__ == "__main__":
    app(prog_name="bare")
'''

HEAVY = ("httpx", "pydantic", "pydantic_settings", "rich", "faster_whisper", "av")

# Runs aigw in-process with the given argv and prints {package: module that first imported it}.
PROBE = '''
import json, sys
HEAVY = %(heavy)r
first = {}
class Spy:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in HEAVY and top not in first:
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
                frame = frame.f_back
            first[top] = frame.f_globals.get("__name__", "?") if frame else "?"
sys.meta_path.insert(0, Spy())
from aigw.cli.main import run
try:
    run(%(args)r)
except SystemExit:
    pass
print("\\nPROBE:" + json.dumps({m: first.get(m, "?") for m in HEAVY if m in sys.modules}))
'''


def measure(commands: dict[str, tuple[list[str], dict[str, str]]], runs: int) -> dict[str, list[float]]:
    """Wall time of each command, `runs` times, interleaved so drift hits every command alike;
    one untimed warm-up run each (bytecode caches, page cache)."""
    import os

    samples: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(runs + 1):
        for name, (cmd, env) in commands.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                           env={**os.environ, **env})
            if i:
                samples[name].append((time.perf_counter() - t0) * 1000)
    return samples


def heavy_imports(args: list[str]) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-c", PROBE % {"heavy": HEAVY, "args": args}],
                         capture_output=True, text=True, check=False)
    if "PROBE:" not in out.stdout:
        return {"(probe failed)": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "?"}
    return json.loads(out.stdout.rsplit("PROBE:", 1)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per command (default 20)")
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        bare = Path(tmp) / "bare.py"
        bare.write_text(BARE_APP)
        tab = {"_AIGW_COMPLETE": "complete_bash", "COMP_WORDS": "aigw gen", "COMP_CWORD": "1"}
        commands = {
            "python -c pass": ([py, "-c", "pass"], {}),
            "bare Typer --help": ([py, str(bare), "--help"], {}),
            "aigw --help": ([py, "-m", "aigw", "--help"], {}),
            "bare Typer generate --help": ([py, str(bare), "generate", "--help"], {}),
            "aigw generate --help": ([py, "-m", "aigw", "generate", "--help"], {}),
            "aigw TAB (complete_bash)": ([py, "-m", "aigw"], tab),
        }
        samples = measure(commands, args.runs)
    median = {name: statistics.median(s) for name, s in samples.items()}
    print(f"start-up, {args.runs} runs each, {py}")
    print(f"{'command':<28}{'median ms':>10}{'min ms':>10}")
    for name, s in samples.items():
        print(f"{name:<28}{median[name]:>10.1f}{min(s):>10.1f}")
    for label, ours, bare_name in (("--help", "aigw --help", "bare Typer --help"),
                                   ("generate --help", "aigw generate --help", "bare Typer generate --help")):
        ratio = median[ours] / median[bare_name]
        verdict = "ok" if ratio <= 1.2 else "SLOWER than target"
        print(f"aigw / bare Typer, {label}: {ratio:.2f}x (target <= 1.2x: {verdict})")
    for argv in (["--help"], ["generate", "--help"]):
        found = heavy_imports(argv)
        listed = ", ".join(f"{pkg} (first imported by {who})" for pkg, who in found.items()) or "none"
        print(f"heavy packages loaded by aigw {' '.join(argv)}: {listed}")


if __name__ == "__main__":
    main()
