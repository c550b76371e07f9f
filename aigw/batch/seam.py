"""The one place a batch item becomes a run: the engine plans it (its estimate, before the batch
sends anything) and runs it under the run id the batch recorded first. Everything else in
aigw/batch is independent of how a request runs.

Many items run at once on one engine (asyncio tasks): the engine keeps each run's paid group in
one synchronous stretch, so their transactions never interleave. A notice the engine emits while
planning has no run id yet: `Lines` says which line is being planned (planning is synchronous)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from aigw import errors
from aigw.batch.items import Kind
from aigw.batch.outcome import ItemOutcome
from aigw.batch.store import FINAL_JOB_STATUSES
from aigw.engine import Engine, RunOptions

if TYPE_CHECKING:
    from aigw.types import ImageFormat, RunResult, TranscriptFormat

IMAGE_FORMATS = ("png", "jpeg", "webp")
TRANSCRIPT_FORMATS = ("text", "json", "verbose_json", "srt", "vtt", "tsv")
IMAGE_SUFFIXES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}
TRANSCRIPT_SUFFIXES = {".txt": "text", ".json": "json", ".srt": "srt", ".vtt": "vtt", ".tsv": "tsv"}


class Lines:
    """Which line a run id or the plan being made belongs to, for the batch's event subscriber."""

    def __init__(self) -> None:
        self.by_run: dict[str, int] = {}
        self.planning: int | None = None

    def of(self, run_id: str) -> int | None:
        return self.by_run.get(run_id) if run_id else self.planning


def _options(options: RunOptions, fields: dict[str, Any]) -> RunOptions:
    provider = fields.get("provider")
    if provider:
        return dataclasses.replace(options, providers=tuple([provider] if isinstance(provider, str) else provider))
    return options


def _format(fields: dict[str, Any], allowed: tuple[str, ...], suffixes: dict[str, str]) -> str | None:
    fmt, output = fields.get("format"), fields.get("output")
    if fmt is not None and fmt not in allowed:
        raise errors.UsageError(f"unknown format {fmt}", hint="allowed: " + ", ".join(allowed))
    if fmt is None and output:
        from aigw.services.delivery import is_directory

        if not is_directory(output):
            return suffixes.get(Path(output).suffix.lower())
    return cast("str | None", fmt)


def _checked(build: Any) -> Any:
    """A value of the wrong kind in a JSON line (pydantic's ValueError) is the item's usage error."""
    try:
        return build()
    except ValueError as exc:
        first = exc.errors()[0] if hasattr(exc, "errors") else None
        detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}" if first else str(exc)
        raise errors.UsageError(f"invalid request: {detail}") from exc


def image_request(engine: Engine, fields: dict[str, Any], options: RunOptions) -> Any:
    from aigw.services.defaults import default_model
    from aigw.types import ImageRequest

    ratio = fields.get("aspect_ratio")
    if ratio is not None and not _is_ratio(ratio):
        raise errors.UsageError(f"bad aspect ratio {ratio}", hint="write it as W:H, e.g. 16:9")
    if fields.get("output") == "-":
        raise errors.UsageError("a batch cannot write images to stdout (-o -)", hint="give a directory: -o out/")
    enhance = fields.get("enhance") or ()
    size = fields.get("size")
    return _checked(lambda: ImageRequest(
        prompt=fields["prompt"], model=fields.get("model") or default_model(engine, "image", providers=options.providers),
        size=size.lower() if size else None, aspect_ratio=ratio, quality=fields.get("quality"),
        style=fields.get("style"), enhancers=tuple([enhance] if isinstance(enhance, str) else enhance),
        n=fields.get("n") or 1,
        format=cast("ImageFormat", _format(fields, IMAGE_FORMATS, IMAGE_SUFFIXES) or engine.settings.defaults.image_format),
        seed=fields.get("seed"), negative_prompt=fields.get("negative_prompt"), steps=fields.get("steps"),
        guidance=fields.get("guidance")))


def audio_request(engine: Engine, fields: dict[str, Any], options: RunOptions) -> Any:
    from aigw.services.defaults import default_model
    from aigw.types import TranscribeRequest

    return _checked(lambda: TranscribeRequest(
        file=Path(fields["file"]).expanduser(),
        model=fields.get("model") or default_model(engine, "audio", providers=options.providers),
        language=fields.get("language"), prompt=fields.get("prompt"),
        format=cast("TranscriptFormat", _format(fields, TRANSCRIPT_FORMATS, TRANSCRIPT_SUFFIXES)
                    or engine.settings.defaults.transcript_format),
        temperature=fields.get("temperature"), timestamps=fields.get("timestamps"),
        translate=bool(fields.get("translate")), diarize=bool(fields.get("diarize")),
        max_line_width=fields.get("max_line_width"), max_line_count=fields.get("max_line_count")))


def _request(engine: Engine, kind: Kind, fields: dict[str, Any], options: RunOptions) -> Any:
    return image_request(engine, fields, options) if kind == "image" else audio_request(engine, fields, options)


def plan(engine: Engine, kind: Kind, line: int, fields: dict[str, Any], options: RunOptions, lines: Lines) -> Any:
    """The item's plan (what --dry-run would show); raises what its run would fail with when it
    cannot be planned (an unknown model, a missing file: exit 2)."""
    opts = _options(options, fields)
    lines.planning = line
    try:
        return engine.plan(_request(engine, kind, fields, opts), opts,
                           display_name=str(fields["file"]) if kind == "audio" else None)
    finally:
        lines.planning = None


def cache_key(engine: Engine, planned: Any, fields: dict[str, Any], options: RunOptions) -> str | None:
    """The result-cache key of the item's request when the cache would both answer it and keep its
    result, else None: two items with the same key ask for the same result."""
    from aigw.engine import cache

    if planned is None:
        return None
    use = cache.lookup(engine, planned, _options(options, fields))
    return use.key if use.read and use.write else None


def estimate(planned: Any) -> float | None:
    """A plan's estimate before anything is sent (its first candidate's), None when unpriced; 0 when
    the result cache holds its result."""
    return 0.0 if planned.expects_hit else cast("float | None", planned.first.estimate.usd)


async def run_one(engine: Engine, kind: Kind, line: int, item_id: str | None, fields: dict[str, Any],
                  options: RunOptions, *, run_id: str, lines: Lines, earlier_run: str | None = None,
                  planned: Any = None) -> ItemOutcome:
    """Run one item under `run_id` (its plan from the batch's estimate, else planned now); an aigw
    error is the item's failure, not the batch's.
    `earlier_run`: a run of this item that submitted a queue job and stopped before seeing it end
    (a crash): that job is polled for its result, never submitted again (see `_resuming`).
    Cancellation (a second Ctrl-C) goes through: the engine logs the run interrupted."""
    opts = _options(options, fields)
    output = fields.get("output")
    lines.by_run[run_id] = line
    try:
        if planned is None:
            planned = plan(engine, kind, line, fields, opts, lines)
        if earlier_run is not None:
            _resuming(engine, planned, earlier_run)
        served = await engine.run(planned, opts, output=output, run_id=run_id)
    except errors.AigwError as exc:
        return ItemOutcome(line, item_id, exc.exit_code, error=exc.message, hint=exc.hint,
                           run_id=exc.run_id, attempts=tuple(exc.attempts))
    except Exception as exc:  # a bug: this item fails with exit 1, the batch goes on
        return ItemOutcome(line, item_id, 1, error=f"unexpected {type(exc).__name__}: {exc}",
                           hint="run again with -v for the traceback", run_id=run_id)
    finally:
        lines.by_run.pop(run_id, None)
    result = served.result
    outcome = ItemOutcome(line, item_id, 0, result=result, paths=list(result.paths), body=served.body,
                          run_id=result.id, attempts=tuple(result.attempts))
    if output:
        if kind == "image":
            blobs = [(Path(p).name, Path(p).read_bytes()) for p in result.paths]
        else:
            blobs = [(Path(result.paths[0]).name, (served.body or "").encode("utf-8"))]
        _deliver(engine, outcome, output, blobs, add_suffix=kind == "image")
    return outcome


def _resuming(engine: Engine, planned: Any, earlier_run: str) -> None:
    """Put the provider that holds the earlier run's job first, polling that job (Plan.resume).
    Never paid twice: when that provider is no longer among the candidates, nothing is sent."""
    left = [job for job in engine.log.jobs_for(earlier_run) if job.status not in FINAL_JOB_STATUSES]
    if not left:
        return
    job = left[-1]
    holder = [p for p in planned.items if p.candidate.provider == job.provider]
    if not holder:
        raise errors.UsageError(f"its queue job {job.job_id} at {job.provider} was submitted before aigw stopped, "
                                f"and {job.provider} is not among this item's providers now; not sent again",
                                hint=f"the job may still finish at {job.provider}; configure {job.provider} "
                                     "again and --resume polls it")
    planned.items = [holder[0], *(p for p in planned.items if p is not holder[0])]
    planned.resume = job


def _deliver(engine: Engine, outcome: ItemOutcome, output: str, blobs: list[tuple[str, bytes]], *,
             add_suffix: bool) -> None:
    """-o for one item: written there, or exit 7 for this item with the result kept in the cache."""
    from aigw.services import delivery

    try:
        written = delivery.write_outputs(output, blobs, add_suffix=add_suffix)
    except errors.OutputNotWritten as exc:
        outcome.exit_code, outcome.error = exc.exit_code, exc.message
        outcome.hint = "the result is kept in the cache: " + ", ".join(outcome.paths)
        try:
            engine.record_delivery_failure(outcome.result.id, exit_code=exc.exit_code, error=exc.message)
        except errors.RunLogError:
            pass  # the item's failure is what the user must hear about
        return
    outcome.paths = [str(p) for p in written]


def _is_ratio(value: str) -> bool:
    parts = value.split(":")
    return len(parts) == 2 and all(p.isdigit() and int(p) > 0 for p in parts)
