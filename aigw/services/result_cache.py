"""The result cache around a run: after the request is planned (bad input has already exited 2) and
before any routing, a cached result answers it as a run of its own, logged as a hit of the paid
run it came from, at no cost and without the network; after a paid run, its result becomes the entry.

Two calls from each run path: `CacheUse.serve(log)` before routing, `CacheUse.keep(log, result,
plan)` after the result is committed. Neither ever loses a result: a damaged entry is not served
(the run goes on and replaces it), and an entry that cannot be written is a warning.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigw import errors
from aigw.catalog.pricing import default_quality, format_usd
from aigw.store.cache import Damaged, Entry, ResultCache, index, key
from aigw.store.cache.entries import link_or_copy
from aigw.store.files import part_path, private_dirs, result_path
from aigw.types import RunResult

if TYPE_CHECKING:
    from aigw.services.context import Context, RunOptions
    from aigw.services.planning import Plan, Planned
    from aigw.store import RunLog
    from aigw.types import ImageRequest, TranscribeRequest

# What a hit's RunResult takes from the run it came from.
RESULT_FIELDS = ("substituted", "prompt", "size", "quality", "revised_prompt", "text", "format", "language",
                 "duration_s")


@dataclass
class CacheUse:
    """What the cache does for one run: read (serve a hit), write (keep the result), or nothing."""

    ctx: Context
    kind: str
    logged_request: dict[str, Any]  # what the run log records as the run's request
    read: bool = False
    write: bool = False
    any_image: bool = False  # --cache or cache.images = "always": also images made without a seed
    key: str = ""
    request: dict[str, Any] = field(default_factory=dict)  # the canonical request the key is the hash of
    substitute: bool = True

    @property
    def cache(self) -> ResultCache:
        return ResultCache(self.ctx.cache_dir)

    # ---- before routing ----------------------------------------------------------------------

    def serve(self, log: RunLog) -> RunResult | None:
        """The cached result as a new logged run, or None (a miss, or the cache not used)."""
        if not self.read:
            return None
        try:
            entry = self.cache.get(self.key)
        except (Damaged, OSError) as exc:
            self.ctx.notify(f"warning: the cached result of this request is not usable ({exc}); running it again")
            return None
        if entry is None or entry.get("kind") != self.kind:
            return None
        created = self.ctx.clock.now()
        run_id = self.ctx.new_run_id()
        try:  # the manifest's own fields are not hashed: one edited by hand may not make a result
            result = self._result(entry, run_id, created)
        except (ValueError, TypeError, AttributeError) as exc:
            self.ctx.notify(f"warning: the cached result of this request is not usable (its manifest: "
                            f"{type(exc).__name__}); running it again")
            return None
        if result.substituted and not self.substitute:  # made by a retired model's successor
            return None
        try:
            placed = self._link(entry, run_id, created)
        except OSError as exc:
            self.ctx.notify(f"warning: the cached result could not be placed under results/ "
                            f"({exc.strerror or exc}); running it again")
            return None
        result = result.model_copy(update={"paths": [str(final) for _, final in placed]})
        log.begin_group()
        try:
            log.start_run(run_id, kind=self.kind, created_at=created, requested_model=self.request["model"],
                          request=self.logged_request, estimated_cost_usd=0.0)
            for (_, final), item in zip(placed, entry.manifest["files"]):
                log.record_file(run_id, final, item["bytes"], item["sha256"], created)
            log.finish_run(result)
            index.record_hit(log.conn, run_id, entry, created)
            log.end_group()
        except BaseException:
            log.abandon_group()
            for part, _ in placed:
                with contextlib.suppress(OSError):
                    part.unlink()
            raise
        for part, final in placed:  # committed first, then visible (as services/results.py explains)
            os.replace(part, final)
        self.cache.touch(entry)
        return result.model_copy(update={"latency_ms": self._ms_since(created)})

    def _link(self, entry: Entry, run_id: str, created: Any) -> list[tuple[Path, Path]]:
        """The entry's files linked to temporary names beside the hit run's own result paths."""
        many = len(entry.files) > 1
        placed: list[tuple[Path, Path]] = []
        try:
            for number, src in enumerate(entry.files, start=1):
                final = result_path(self.ctx.cache_dir, run_id, created, src.suffix.lstrip("."), number if many else None)
                private_dirs(final.parent, self.ctx.cache_dir)
                part = part_path(final)
                link_or_copy(src, part)
                placed.append((part, final))
        except OSError:
            for part, _ in placed:
                with contextlib.suppress(OSError):
                    part.unlink()
            raise
        return placed

    def _result(self, entry: Entry, run_id: str, created: Any) -> RunResult:
        source = {k: v for k, v in (entry.get("result") or {}).items() if k in RESULT_FIELDS}
        return RunResult(
            id=run_id, kind=self.kind, requested_model=self.request["model"], model=entry.get("model"),  # type: ignore[arg-type]
            provider=entry.get("provider"), provider_model=entry.get("provider_model"),
            paths=[], cost_usd=0.0, estimated_cost_usd=0.0,
            latency_ms=self._ms_since(created), created_at=created, attempts=[],
            cache_hit=True, cache_of=entry.get("source_run"), cache_saved_usd=entry.get("cost_usd"), **source)

    def _ms_since(self, created: Any) -> float:
        return round((self.ctx.clock.now() - created).total_seconds() * 1000, 1)

    # ---- after a paid run ----------------------------------------------------------------------

    def keep(self, log: RunLog, result: RunResult, plan: Plan[Any]) -> None:
        """The run's committed result becomes the entry for its request (replacing any). Only a
        result of the requested model (or its successor) is kept: a fallback model's is not what
        the request asked for. Never raises: the result is already safe under results/."""
        if not self.write or result.cache_hit:
            return
        item = _served(plan, result)
        if item is None or item.model_group != plan.requested:
            return
        if self.kind == "image" and not self.any_image and getattr(item.call, "seed", None) is None:
            return  # the provider was not sent the seed: the same request would not make the same image
        results = self.ctx.cache_dir / "results"
        files = [Path(p) for p in result.paths]
        if not files or not all(results in p.parents and p.is_file() for p in files):
            return  # kept at a fallback place (exit 9): not a cache file to link
        manifest = {
            "kind": self.kind, "request": self.request, "source_run": result.id, "model": result.model,
            "provider": result.provider, "provider_model": result.provider_model,
            "created_at": result.created_at.isoformat(), "cost_usd": result.cost_usd,
            "result": result.model_dump(mode="json", include=set(RESULT_FIELDS)),
        }
        try:
            entry = self.cache.put(self.key, manifest, [(p, f"{i}{p.suffix}") for i, p in enumerate(files, start=1)])
            index.record_entry(log.conn, entry)
        except (OSError, errors.RunLogError) as exc:
            detail = exc.message if isinstance(exc, errors.RunLogError) else (exc.strerror or str(exc))
            self.ctx.notify(f"warning: the result is kept, but the result cache could not store it ({detail})")


def _served(plan: Plan[Any], result: RunResult) -> Planned[Any] | None:
    return next((p for p in plan.items if p.candidate.provider == result.provider
                 and p.candidate.model.id == result.model), None)


def _switches(ctx: Context, options: RunOptions) -> tuple[bool, str]:
    """(the cache is on for this run, cache.images)."""
    if options.dry_run or options.cache is False:
        return False, "never"
    settings = ctx.settings.cache
    return options.cache is True or settings.enabled, ("always" if options.cache is True else settings.images)


def for_image(ctx: Context, req: ImageRequest, plan: Plan[Any], options: RunOptions) -> CacheUse:
    use = CacheUse(ctx, "image", req.model_dump(mode="json"), substitute=ctx.substitute(options))
    on, images = _switches(ctx, options)
    requested = next((p.candidate.requested for p in plan.items if p.model_group == plan.requested), None)
    if not on or images == "never" or requested is None or (images == "seeded" and req.seed is None):
        return use
    from aigw.services.image_params import default_size

    known = not requested.open_params  # a provider's own id: its defaults are not known
    use.request = key.image_request(req, default_size=default_size(requested) if known else None,
                                    default_quality=default_quality(requested) if known else None)
    use.key, use.read, use.write, use.any_image = key.key_of(use.request), not options.refresh, True, images == "always"
    return use


def for_audio(ctx: Context, req: TranscribeRequest, options: RunOptions, display_name: str) -> CacheUse:
    use = CacheUse(ctx, "audio", {**req.model_dump(mode="json"), "file": display_name},
                   substitute=ctx.substitute(options))
    if not _switches(ctx, options)[0]:
        return use
    try:
        digest = key.file_sha256(Path(req.file))
    except OSError as exc:  # it was readable a moment ago, when it was probed
        ctx.notify(f"warning: the result cache is not used: {display_name}: {exc.strerror or exc}")
        return use
    use.request = key.audio_request(req, digest)
    use.key, use.read, use.write = key.key_of(use.request), not options.refresh, True
    return use


def saved_line(result: RunResult) -> str:
    """stderr after a hit, in place of the cost line."""
    cost = result.cache_saved_usd
    saved = "unknown" if cost is None else "nothing: it was free" if cost == 0 else "~" + format_usd(cost)
    return f"cached: from run {result.cache_of} (saved {saved}) · {result.model} at {result.provider}"
