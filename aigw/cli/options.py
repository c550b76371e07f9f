"""Options that generate, transcribe and bench share, declared once."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

Model = Annotated[Optional[str], typer.Option("--model", "-m", help="Model id, or PROVIDER/MODEL for a provider's own id.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object describing the run.")]
Providers = Annotated[Optional[List[str]], typer.Option("--provider", "-p", help="Only these providers (repeatable).")]
Fallbacks = Annotated[Optional[List[str]], typer.Option("--fallback", help="Model to try after the requested one fails (repeatable).")]
NoSubstitute = Annotated[bool, typer.Option("--no-substitute", help="Fail (exit 2) rather than serve a retired model's successor.")]
FallbackOnRefusal = Annotated[bool, typer.Option("--fallback-on-refusal", help="Try other providers after a content refusal.")]
Deadline = Annotated[Optional[float], typer.Option("--deadline", min=0.001, help="Total seconds for the whole run, waits included.")]
Timeout = Annotated[Optional[float], typer.Option("--timeout", min=0.001, help="Seconds for each attempt.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan (candidates and estimates) and send nothing.")]
MaxCost = Annotated[Optional[float], typer.Option("--max-cost", min=0.0, help="Refuse (exit 6) if the estimate is over this many USD.")]
Cache = Annotated[Optional[bool], typer.Option(
    "--cache/--no-cache", help="--cache: answer from the result cache and keep the result there, for images also "
    "without --seed (and even when cache.enabled is false); --no-cache: neither read nor write it.")]
Refresh = Annotated[bool, typer.Option("--refresh", help="Send the request even if a cached result exists, and "
                                       "replace the cached one.")]
AllowUnpriced = Annotated[bool, typer.Option("--allow-unpriced", help="Let --max-cost and budgets accept models with no known price.")]

BatchFile = Annotated[Optional[str], typer.Option("--batch", metavar="FILE", help="Run every line of FILE ('-': stdin): a prompt "
                                                  "(a path for transcribe) or a JSON object of options.")]
Concurrency = Annotated[int, typer.Option("--concurrency", min=1, metavar="N", help="Batch items (or a long recording's chunks) in flight at once.")]
ShowProgress = Annotated[bool, typer.Option("--progress", help="Plain progress lines on stderr when it is not a terminal (a batch, or a long recording's chunks).")]
Resume = Annotated[Optional[str], typer.Option("--resume", metavar="[BATCH_ID]", help="Resume a batch: the latest "
                                               "of this input, or BATCH_ID; done items are not sent again.")]
NewBatch = Annotated[bool, typer.Option("--new", help="Run an input that was run before as a new batch.")]


def run_options(*, no_substitute: bool, fallback_on_refusal: bool, deadline: float | None, timeout: float | None,
                providers: list[str] | None, fallbacks: list[str] | None, dry_run: bool, max_cost: float | None,
                allow_unpriced: bool, cache: bool | None = None, refresh: bool = False):  # type: ignore[no-untyped-def]
    from aigw.errors import UsageError
    from aigw.engine.planning import RunOptions

    if refresh and cache is False:
        raise UsageError("--refresh replaces a cached result, and --no-cache leaves the cache alone",
                         hint="give one of them")

    return RunOptions(substitute=False if no_substitute else None, fallback_on_refusal=fallback_on_refusal,
                      deadline_s=deadline, timeout_s=timeout, providers=tuple(providers or ()),
                      fallbacks=tuple(fallbacks or ()), dry_run=dry_run, max_cost=max_cost,
                      allow_unpriced=allow_unpriced, cache=cache, refresh=refresh)
