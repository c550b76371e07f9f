"""The result cache in the engine's run: after the request is planned (bad input has already exited
2) and before cost limits and routing, a cached result answers it as a run of its own (RunStarted;
CacheHit, the hit's mark and file rows in one transaction; RunFinished), at no cost and without
the network; after a paid run, its committed result becomes the entry.

Engine.run calls `lookup(engine, plan, options)` once: its `serve()` is the hit or None, its
`keep(served)` stores the paid result. Neither ever loses a result: a damaged entry is not served
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
from aigw.events import CacheHit, RunFinished, RunStarted, SavedFile
from aigw.store.cache import Damaged, Entry, ResultCache, index, key
from aigw.store.cache.entries import link_or_copy
from aigw.store.files import part_path, private_dirs, result_path
from aigw.types import RunResult

if TYPE_CHECKING:
    from aigw.engine.core import Engine
    from aigw.engine.planning import Plan, Planned, RunOptions
    from aigw.engine.run import Served

# What a hit's RunResult takes from the run it came from.
RESULT_FIELDS = ("substituted", "prompt", "size", "quality", "revised_prompt", "text", "format", "language",
                 "duration_s")


@dataclass
class CacheUse:
    """What the cache does for one run: read (serve a hit), write (keep the result), or nothing."""

    engine: Engine
    plan: Plan[Any]
    substitute: bool = True
    read: bool = False
    write: bool = False
    any_image: bool = False  # --cache or cache.images = "always": also images made without a seed
    key: str = ""
    request: dict[str, Any] = field(default_factory=dict)  # the canonical request the key is the hash of

    @property
    def kind(self) -> str:
        assert self.plan.kind is not None
        return self.plan.kind.name

    @property
    def cache(self) -> ResultCache:
        return ResultCache(self.engine.cache_dir)

    def _warn(self, text: str) -> None:
        self.engine.notice("warning", text)

    # ---- before routing ----------------------------------------------------------------------

    def has_entry(self) -> bool:
        """Whether serve() would find this request's result (its files checked as serve checks them)."""
        if not self.read:
            return False
        try:
            entry = self.cache.get(self.key)
        except (Damaged, OSError):
            return False
        return entry is not None and entry.get("kind") == self.kind

    def serve(self, run_id: str | None = None) -> Served | None:
        """The cached result as a new logged run (under `run_id` when the caller chose it: a batch
        item), or None (a miss, or the cache not used)."""
        if not self.read:
            return None
        try:
            entry = self.cache.get(self.key)
        except (Damaged, OSError) as exc:
            self._warn(f"the cached result of this request is not usable ({exc}); running it again")
            return None
        if entry is None or entry.get("kind") != self.kind:
            return None
        engine = self.engine
        created = engine.clock.now()
        run_id = run_id or engine.new_run_id()
        try:  # the manifest's own fields are not hashed: one edited by hand may not make a result
            result = self._result(entry, run_id, created)
        except (ValueError, TypeError, AttributeError) as exc:
            self._warn(f"the cached result of this request is not usable (its manifest: {type(exc).__name__}); "
                       "running it again")
            return None
        if result.substituted and not self.substitute:  # made by a retired model's successor
            return None
        try:
            placed = self._link(entry, run_id, created)
        except OSError as exc:
            self._warn(f"the cached result could not be placed under results/ ({exc.strerror or exc}); "
                       "running it again")
            return None
        result = result.model_copy(update={"paths": [str(final) for _, final in placed]})
        files = tuple(SavedFile(final, item["bytes"], item["sha256"])
                      for (_, final), item in zip(placed, entry.manifest["files"]))
        emit = engine.bus.emit
        assert self.plan.kind is not None
        try:
            emit(RunStarted(run_id, self.kind, self.plan.requested, self.plan.kind.log_request(self.plan.job), 0.0,
                            created))
            # One transaction in the recorder: the hit's mark and its file rows, all or nothing.
            emit(CacheHit(run_id, entry.get("source_run"), self.key, files, created))
        except BaseException as exc:
            for part, _ in placed:
                with contextlib.suppress(OSError):
                    part.unlink()
            self._failed(run_id, exc)
            raise
        for part, final in placed:  # logged first, then visible (as aigw/engine/keeper.py explains)
            os.replace(part, final)
        try:
            emit(RunFinished(run_id, result=result))
        except BaseException as exc:
            self._failed(run_id, exc)
            raise
        self.cache.touch(entry)
        from aigw.engine.run import Served

        body = Path(placed[0][1]).read_bytes().decode("utf-8") if self.kind == "audio" else None
        return Served(result.model_copy(update={"latency_ms": self._ms_since(created)}), body)

    def _failed(self, run_id: str, exc: BaseException) -> None:
        """The hit's run ends failed (best effort: the log may be what failed)."""
        if isinstance(exc, errors.AigwError):
            with contextlib.suppress(errors.AigwError):
                self.engine.bus.emit(RunFinished(run_id, error=exc.message, exit_code=exc.exit_code))
            exc.run_id = run_id  # type: ignore[attr-defined]

    def _link(self, entry: Entry, run_id: str, created: Any) -> list[tuple[Path, Path]]:
        """The entry's files linked to temporary names beside the hit run's own result paths."""
        many = len(entry.files) > 1
        placed: list[tuple[Path, Path]] = []
        top = self.engine.cache_dir
        try:
            for number, src in enumerate(entry.files, start=1):
                final = result_path(top, run_id, created, src.suffix.lstrip("."), number if many else None)
                private_dirs(final.parent, top)
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
            id=run_id, kind=self.kind, requested_model=self.plan.requested, model=entry.get("model"),  # type: ignore[arg-type]
            provider=entry.get("provider"), provider_model=entry.get("provider_model"),
            paths=[], cost_usd=0.0, estimated_cost_usd=0.0,
            latency_ms=self._ms_since(created), created_at=created, attempts=[],
            cache_hit=True, cache_of=entry.get("source_run"), cache_saved_usd=entry.get("cost_usd"), **source)

    def _ms_since(self, created: Any) -> float:
        return round((self.engine.clock.now() - created).total_seconds() * 1000, 1)

    # ---- after a paid run ----------------------------------------------------------------------

    def keep(self, served: Served) -> None:
        """The run's committed result becomes the entry for its request (replacing any). Only a
        result of the requested model (or its successor) is kept: a fallback model's is not what
        the request asked for. Never raises: the result is already safe under results/."""
        result = served.result
        if not self.write or result.cache_hit:
            return
        item = _served(self.plan, result)
        if item is None or item.model_group != self.plan.requested:
            return
        if self.kind == "image" and not self.any_image and getattr(item.call, "seed", None) is None:
            return  # the provider was not sent the seed: the same request would not make the same image
        results = self.engine.cache_dir / "results"
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
            index.record_entry(self.engine.log.conn, entry)
        except (OSError, errors.RunLogError) as exc:
            detail = exc.message if isinstance(exc, errors.RunLogError) else (exc.strerror or str(exc))
            self._warn(f"the result is kept, but the result cache could not store it ({detail})")


def _served(plan: Plan[Any], result: RunResult) -> Planned[Any] | None:
    return next((p for p in plan.items if p.candidate.provider == result.provider
                 and p.candidate.model.id == result.model), None)


def lookup(engine: Engine, plan: Plan[Any], options: RunOptions) -> CacheUse:
    """What the cache does for this planned run (the key computed only when it is used)."""
    use = CacheUse(engine, plan, substitute=engine.substitute(options))
    if options.dry_run or options.cache is False or not plan.items:
        return use
    settings = engine.settings.cache
    if not (options.cache is True or settings.enabled):
        return use
    if use.kind == "image":
        images = "always" if options.cache is True else settings.images
        req = plan.job
        requested = next((p.candidate.requested for p in plan.items if p.model_group == plan.requested), None)
        if images == "never" or requested is None or (images == "seeded" and req.seed is None):
            return use
        from aigw.services.image_params import default_size

        known = not requested.open_params  # a provider's own id: its defaults are not known
        use.request = key.image_request(req, default_size=default_size(requested) if known else None,
                                        default_quality=default_quality(requested) if known else None)
        use.any_image = images == "always"
    else:
        job = plan.job  # an AudioJob: the request, its probed upload, the name it is known by
        try:
            digest = key.file_sha256(Path(job.request.file))
        except OSError as exc:  # it was readable a moment ago, when it was probed
            engine.notice("warning", f"the result cache is not used: {job.name}: {exc.strerror or exc}")
            return use
        use.request = key.audio_request(job.request, digest)
    use.key, use.read, use.write = key.key_of(use.request), not options.refresh, True
    return use


def saved_line(result: RunResult) -> str:
    """stderr after a hit, in place of the cost line."""
    cost = result.cache_saved_usd
    saved = "unknown" if cost is None else "nothing: it was free" if cost == 0 else "~" + format_usd(cost)
    return f"cached: from run {result.cache_of} (saved {saved}) · {result.model} at {result.provider}"
