"""The one place a batch item becomes a run. Everything else in aigw/batch is independent of how a
request runs; porting to the engine replaces `estimate` and `run_one`'s body.

Today a run goes through services.generate / services.transcribe on one `Context.session()` (one
run log connection and one HTTP client for every item). A run's group commit (its files, served
attempt and end) holds no await between begin and commit, so runs interleaved on one event loop
never share a transaction. Each item gets its own context: its deadline starts when it starts,
its notices name its line, and its run id is the one the batch recorded before anything was sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from aigw import errors
from aigw.batch.items import Kind
from aigw.batch.outcome import ItemOutcome
from aigw.events import EventSink
from aigw.services.context import Context, RunOptions

if TYPE_CHECKING:
    from aigw.types import ImageFormat, RunResult, TranscriptFormat

IMAGE_FORMATS = ("png", "jpeg", "webp")
TRANSCRIPT_FORMATS = ("text", "json", "verbose_json", "srt", "vtt")
IMAGE_SUFFIXES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}
TRANSCRIPT_SUFFIXES = {".txt": "text", ".json": "json", ".srt": "srt", ".vtt": "vtt"}


@dataclasses.dataclass
class _ItemContext(Context):
    """A context whose next run takes the id the batch already recorded for the item."""

    fixed_run_id: str = ""

    def new_run_id(self) -> str:
        return self.fixed_run_id or super().new_run_id()


def item_context(ctx: Context, *, run_id: str = "", notify: Callable[[str], None] | None = None,
                 events: EventSink | None = None) -> Context:
    fields = {f.name: getattr(ctx, f.name) for f in dataclasses.fields(Context)}
    fields.update(started=None, fixed_run_id=run_id)  # the deadline counts from the item's start
    if notify is not None:
        fields["notify"] = notify
    if events is not None:
        fields["events"] = events
    return _ItemContext(**fields)


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


def image_request(ctx: Context, fields: dict[str, Any], options: RunOptions) -> Any:
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
        prompt=fields["prompt"], model=fields.get("model") or default_model(ctx, "image", providers=options.providers),
        size=size.lower() if size else None, aspect_ratio=ratio, quality=fields.get("quality"),
        style=fields.get("style"), enhancers=tuple([enhance] if isinstance(enhance, str) else enhance),
        n=fields.get("n") or 1,
        format=cast("ImageFormat", _format(fields, IMAGE_FORMATS, IMAGE_SUFFIXES) or ctx.settings.defaults.image_format),
        seed=fields.get("seed"), negative_prompt=fields.get("negative_prompt"), steps=fields.get("steps"),
        guidance=fields.get("guidance")))


def audio_request(ctx: Context, fields: dict[str, Any], options: RunOptions) -> Any:
    from aigw.services.defaults import default_model
    from aigw.types import TranscribeRequest

    return _checked(lambda: TranscribeRequest(
        file=Path(fields["file"]).expanduser(),
        model=fields.get("model") or default_model(ctx, "audio", providers=options.providers),
        language=fields.get("language"), prompt=fields.get("prompt"),
        format=cast("TranscriptFormat", _format(fields, TRANSCRIPT_FORMATS, TRANSCRIPT_SUFFIXES)
                    or ctx.settings.defaults.transcript_format),
        temperature=fields.get("temperature"), timestamps=fields.get("timestamps"),
        translate=bool(fields.get("translate"))))


def estimate(ctx: Context, kind: Kind, fields: dict[str, Any], options: RunOptions) -> float | None:
    """The item's estimate before anything is sent (its first candidate's), None when unpriced.
    Raises the error the item's run would fail with when it cannot be planned at all."""
    from aigw.services.generate import plan_image
    from aigw.services.transcribe import plan_audio

    opts = _options(options, fields)
    planning = dataclasses.replace(opts, dry_run=True)  # nothing advances (round-robin turns)
    log = ctx.open_log()
    try:
        if kind == "image":
            plan: Any = plan_image(ctx, image_request(ctx, fields, opts), planning, log)
        else:
            from aigw.services.audio_input import probe

            req = audio_request(ctx, fields, opts)
            upload = probe(Path(req.file), display_name=str(fields["file"]))
            plan = plan_audio(ctx, req, planning, upload, str(fields["file"]), log)
    finally:
        log.close()
    if not plan.items:
        raise errors.MissingKeyError("no configured provider serves " + plan.requested)
    return cast("float | None", plan.first.estimate.usd)


async def run_one(ctx: Context, kind: Kind, line: int, item_id: str | None, fields: dict[str, Any],
                  options: RunOptions) -> ItemOutcome:
    """Run one item on its own context (see item_context); an aigw error is the item's failure, not
    the batch's. Cancellation (a second Ctrl-C) goes through: the run logs itself interrupted."""
    from aigw.services.generate import generate
    from aigw.services.transcribe import transcribe

    opts = _options(options, fields)
    output = fields.get("output")
    run_id = ctx.new_run_id()
    try:
        if kind == "image":
            result = cast("RunResult", await generate(ctx, image_request(ctx, fields, opts), opts, output=output))
            body = None
            blobs = [(Path(p).name, Path(p).read_bytes()) for p in result.paths] if output else []
        else:
            result, body = await transcribe(ctx, audio_request(ctx, fields, opts), opts,  # type: ignore[misc]
                                            display_name=str(fields["file"]), output=output)
            blobs = [(Path(result.paths[0]).name, body.encode("utf-8"))] if output else []
    except errors.AigwError as exc:
        return ItemOutcome(line, item_id, exc.exit_code, error=exc.message, hint=exc.hint,
                           run_id=exc.run_id, attempts=tuple(exc.attempts))
    except Exception as exc:  # a bug: this item fails with exit 1, the batch goes on
        return ItemOutcome(line, item_id, 1, error=f"unexpected {type(exc).__name__}: {exc}",
                           hint="run again with -v for the traceback", run_id=run_id)
    outcome = ItemOutcome(line, item_id, 0, result=result, paths=list(result.paths), body=body, run_id=result.id,
                          attempts=tuple(result.attempts))
    if output:
        _deliver(ctx, outcome, output, blobs, add_suffix=kind == "image")
    return outcome


async def resume_job(ctx: Context, line: int, item_id: str | None, provider: str, job_id: str) -> ItemOutcome:
    """An item whose earlier run submitted a queue job and stopped before seeing it end (a crash).
    Never paid twice: the job is not submitted again. Polling it to its result is the provider's
    resume (the jobs work); until that exists here, the item fails naming the job."""
    return ItemOutcome(line, item_id, 4,
                       error=f"its queue job {job_id} at {provider} was submitted before aigw stopped; not sent again",
                       hint=f"the job may still finish at {provider}; its id is in the run log's jobs table")


def _deliver(ctx: Context, outcome: ItemOutcome, output: str, blobs: list[tuple[str, bytes]], *,
             add_suffix: bool) -> None:
    """-o for one item: written there, or exit 7 for this item with the result kept in the cache."""
    from aigw.services import delivery

    try:
        written = delivery.write_outputs(output, blobs, add_suffix=add_suffix)
    except errors.OutputNotWritten as exc:
        outcome.exit_code, outcome.error = exc.exit_code, exc.message
        outcome.hint = "the result is kept in the cache: " + ", ".join(outcome.paths)
        log = ctx.open_log()
        try:
            log.record_delivery(outcome.result.id, exit_code=exc.exit_code, error=exc.message)
        except errors.RunLogError:
            pass  # the item's failure is what the user must hear about
        finally:
            log.close()
        return
    outcome.paths = [str(p) for p in written]


def _is_ratio(value: str) -> bool:
    parts = value.split(":")
    return len(parts) == 2 and all(p.isdigit() and int(p) > 0 for p in parts)
