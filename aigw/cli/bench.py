"""`aigw bench`: latency, success rate and cost of each provider that serves a model."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

HELP = """Benchmark the providers that serve a model: success rate, latency, cost.

Runs the same request several times at each provider, one provider at a time (no failover), and
reports success rate, median and p95 latency, and cost.

Paid runs need --yes, after the estimated total is shown. Every run is logged like any other.

  aigw bench -m whisper-tiny.en --file examples/hello.wav --runs 3
  aigw bench -m gpt-image-1-mini --prompt "a red apple" --runs 2 --yes
"""


def command(
    model: str = typer.Option(..., "--model", "-m", help="The model to benchmark."),
    prompt: Optional[str] = typer.Option(None, "--prompt", help="Prompt for image models."),
    file: Optional[Path] = typer.Option(None, "--file", help="Audio file for transcription models."),
    runs: int = typer.Option(3, "--runs", min=1, max=100, help="Requests per provider."),
    provider: Optional[List[str]] = typer.Option(None, "--provider", "-p", help="Only these providers (repeatable)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Agree to the estimated spend."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array, one object per provider."),
) -> None:
    from aigw.catalog.pricing import format_usd
    from aigw.cli.common import make_engine, with_engine
    from aigw.cli.output import STATE, print_json, print_lines, stdout_is_tty
    from aigw.errors import BudgetExceededError, UsageError
    from aigw.services.bench import bench
    from aigw.engine import RunOptions

    engine = make_engine(once_per_text=True)
    kind = _kind(engine, model, prompt, file)
    if kind == "image" and not prompt:
        raise UsageError("an image benchmark needs --prompt",
                         hint=f'aigw bench -m {model} --prompt "a red apple" --runs 3')
    if kind == "audio" and file is None:
        raise UsageError("a transcription benchmark needs --file",
                         hint=f"aigw bench -m {model} --file talk.wav --runs 3")
    planned = with_engine(engine, lambda e: _plan(e, kind, model, prompt, file,
                                                   RunOptions(providers=tuple(provider or ())))).items
    names = [p.candidate.provider for p in planned]
    estimates = [p.estimate.usd for p in planned]
    total = None if None in estimates else sum(e for e in estimates if e is not None) * runs
    STATE.info(f"bench: {runs} run(s) at {', '.join(names)}; estimated total {format_usd(total)}")
    if (total is None or total > 0) and not yes:
        raise BudgetExceededError(f"this benchmark would spend {format_usd(total)}", hint="pass --yes to agree")
    rows = with_engine(engine, lambda e: bench(e, kind=kind, model=model, prompt=prompt, file=file, runs=runs,
                                                providers=names))
    if as_json:
        print_json(rows)
    elif stdout_is_tty():
        from rich.console import Console
        from rich.table import Table

        table = Table("provider", "ok", "p50", "p95", "cost", box=None)
        for r in rows:
            table.add_row(r["provider"], f"{r['ok']}/{r['runs']}", _ms(r["p50_ms"]), _ms(r["p95_ms"]), format_usd(r["cost_usd_total"]))
        Console().print(table)
    else:
        # A pipe gets a header and one unit per column (milliseconds, USD); "-" where there is no value.
        print_lines(["provider\tok\tp50_ms\tp95_ms\tcost_usd"] + [
            f"{r['provider']}\t{r['ok']}/{r['runs']}\t{_plain(r['p50_ms'], '.0f')}\t{_plain(r['p95_ms'], '.0f')}\t"
            f"{_plain(r['cost_usd_total'], 'g')}" for r in rows])


def _plain(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _kind(ctx, model: str, prompt: str | None, file: Path | None) -> str:  # type: ignore[no-untyped-def]
    """A catalog model's kind; for any other id (a gateway's alias, PROVIDER/MODEL) the kind the
    arguments ask for: --file alone is a transcription benchmark, else an image one."""
    from aigw.services.model_ref import resolve

    if model.startswith("local/"):
        return "audio"
    known = ctx.catalog.get(model)
    if known is not None:
        return str(known.kind)
    kind = "audio" if file is not None and not prompt else "image"
    resolve(ctx, model, kind)  # an id nobody serves is exit 2 here
    return kind


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value / 1000:.2f} s"


async def _plan(engine, kind, model, prompt, file, opts):  # type: ignore[no-untyped-def]
    from aigw.types import ImageRequest, TranscribeRequest

    if kind == "image":
        return engine.plan(ImageRequest(prompt=prompt, model=model), opts)
    return engine.plan(TranscribeRequest(file=file, model=model), opts)
