"""A paid result, from the bytes arriving to a file the run log knows, or to a fallback place.

The order (see Keeper; the engine drives it in aigw/engine/run.py, the recorder writes) makes a paid result and its log rows one step: the bytes go to a private
temporary file `.<name>.<pid>.part` beside their final name; the file rows join the transaction that
also holds the served attempt, its cost and the run's end; that transaction commits; then the file
is renamed into place. Commit first, then rename: a kill -9 between the two leaves the log naming a
path that is not there yet and, beside it, the complete bytes under the temporary name (their sha256
is in the log), never a visible file the log does not know. A rename that fails after the commit
moves the row to wherever the result is then kept.

When the cache cannot take the result (disk full, results/ not writable, the run log cannot commit),
it goes to the fallback places in this order: the `-o` target if there is one, then
`<tmp>/aigw-rescue-<uid>/` (created 0700). Exit 9 names where; exit 10 when nowhere could take it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aigw import errors
from aigw.catalog.pricing import format_usd
from aigw.events import DeliveryFailed, EventSink, Notice, ResultSaved, SavedFile
from aigw.services import delivery
from aigw.store.files import private_dirs, result_path, write_part

if TYPE_CHECKING:
    from aigw.types import RunResult


@dataclass
class Pending:
    final: Path
    data: bytes
    part: Path | None = None
    sha256: str = ""
    placed: Path | None = None  # where it ended up: `final`, or a fallback place
    sidecar: bytes | None = None  # provenance for `<final>.json`, when the bytes cannot carry it


def rescue_dir() -> Path:
    """`$TMPDIR`, else /tmp (README). Not tempfile.gettempdir(): it silently moves on to /var/tmp or
    the working directory, and raises when none of them can take a file, exactly when this is needed."""
    base = os.environ.get("TMPDIR") or ("/tmp" if os.name == "posix" else tempfile.gettempdir())  # noqa: S108
    return Path(base) / f"aigw-rescue-{os.getuid()}"


class Keeper:
    """Keeps one run's paid results. The engine calls, in this order and with no await between the
    last three: stage() right after the provider returned (the bytes to `.part` files); the events
    that commit the group (the recorder writes the file rows with the served attempt and the run's
    end); placed() or log_failed(); settle()."""

    def __init__(self, cache_dir: Path, run_id: str, created: datetime, *, emit: EventSink) -> None:
        self.cache_dir, self.run_id, self.created = cache_dir, run_id, created
        self.emit = emit  # DeliveryFailed and Notice events go to the recorder and the renderer
        self.pending: list[Pending] = []
        self.cache_error: str | None = None
        self.recorded = False  # the file rows are in the run's group (committed unless CommitFailed said not)
        self.committed = False  # place() ran: the files were renamed (or dropped)
        self.settled = False  # the fallback places were tried and the outcome recorded: once only

    def stage(self, blobs: list[tuple[bytes, str]], *, provenance: dict[str, Any] | None = None) -> None:
        """(bytes, extension) of each result: written to temporary names beside their final ones.
        `provenance`: fields embedded in each result's bytes before they are written (so the sha256
        logged is of the bytes on disk), or kept in a sidecar `<file>.json` when they cannot be."""
        many = len(blobs) > 1
        cache = self.cache_dir
        self.pending = [Pending(result_path(cache, self.run_id, self.created, ext, i if many else None), data)
                        for i, (data, ext) in enumerate(blobs, start=1)]
        if provenance is not None:
            for item in self.pending:
                item.data, item.sidecar = with_provenance(item.data, item.final.suffix[1:], provenance)
        try:
            for item in self.pending:
                item.part, item.sha256 = write_part(item.final, item.data, cache_dir=cache)
        except OSError as exc:
            self._drop_parts()
            self.cache_error = f"{exc.filename or cache}: {exc.strerror or exc}"

    def saved(self) -> ResultSaved:
        """The event that puts the file rows in the run's group; none when the cache did not take
        the bytes (a row would name a file that is not there)."""
        files = () if self.cache_error is not None else tuple(
            SavedFile(item.final, len(item.data), item.sha256) for item in self.pending)
        return ResultSaved(self.run_id, files, self.created)

    def log_failed(self, message: str) -> None:
        """The group did not commit: the rows are gone, so the files must not appear."""
        self._drop_parts()
        self.cache_error = self.cache_error or message

    def place(self) -> list[str]:
        """After the commit: rename into place; return the cache paths (those that made it)."""
        self.committed = True
        if self.cache_error is not None:
            self._drop_parts()
            return []
        for item in self.pending:
            if item.part is None:
                continue
            try:
                os.replace(item.part, item.final)
                item.placed = item.final
            except OSError as exc:
                self.cache_error = f"{item.final}: {exc.strerror or exc}"
                continue
            if item.sidecar is not None:
                self._write_sidecar(item)
        self._drop_parts()
        return [str(item.placed) for item in self.pending if item.placed is not None]

    def _write_sidecar(self, item: Pending) -> None:
        """Best effort: the result itself is placed and logged; its sidecar failing is a warning."""
        assert item.sidecar is not None
        side = item.final.with_name(item.final.name + ".json")
        try:
            part, _ = write_part(side, item.sidecar, cache_dir=self.cache_dir)
            os.replace(part, side)
        except OSError as exc:
            self.emit(Notice("warning", f"provenance sidecar {side} not written: {exc.strerror or exc}", self.run_id))

    def _drop_parts(self) -> None:
        for item in self.pending:
            if item.part is not None and item.placed is None:
                with contextlib.suppress(OSError):
                    item.part.unlink()
            item.part = None

    def settle(self, result: RunResult, output: str | None, *, add_suffix: bool) -> None:
        """When a result could not be kept in the cache: keep it elsewhere (exit 9) or say plainly
        that it is lost (exit 10). Does nothing when the cache took everything. The error names
        the logged run, for --json."""
        try:
            self._settle(f"from {result.provider} (cost {format_usd(result.cost_usd)})", output,
                         add_suffix=add_suffix)
        except errors.AigwError as exc:  # exit 9 or 10: the run was logged, --json names it
            exc.run_id, exc.attempts = result.id, tuple(result.attempts)
            raise

    def salvage(self, output: str | None, *, add_suffix: bool) -> None:
        """After a failure elsewhere in the run, once the run's end committed what was in the group:
        the paid result still goes into place (when its rows made it) or to a fallback place, and
        stderr says where; the run keeps the failure's own exit code."""
        if self.settled or self.committed:
            return
        if not self.recorded:  # the log failed before the rows were in: a file now would be unknown
            self.log_failed("the run log could not record it")
        self.place()
        try:
            self._settle("(its cost is in the run log when the log could record it)", output,
                         add_suffix=add_suffix, exit_code=None)
        except (errors.ResultRescued, errors.ResultLost) as exc:
            self.emit(Notice("warning", exc.message, self.run_id))

    def _settle(self, about: str, output: str | None, *, add_suffix: bool, exit_code: int | None = 0) -> None:
        self.settled = True
        unsaved = [item for item in self.pending if item.placed is None]
        if self.cache_error is None or not unsaved:
            return
        what = f"{len(unsaved)} result(s) of run {self.run_id} {about}"
        tried: list[str] = []
        if output not in (None, "-"):
            try:
                items = [(i.final.name, i.data) for i in unsaved]
                placed = delivery.write_outputs(output, items, add_suffix=add_suffix)
                for item, where in zip(unsaved, placed):
                    item.placed = Path(os.path.abspath(where))
            except errors.OutputNotWritten as exc:
                tried.append(exc.message)
        for item in (i for i in unsaved if i.placed is None):
            try:
                item.placed = _to_rescue_dir(item)
            except OSError as exc:
                tried.append(f"{rescue_dir()}: {exc.strerror or exc}")
                break
        kept = [item for item in unsaved if item.placed is not None]
        if len(kept) < len(unsaved):
            message = (f"lost {what}: the cache could not take it ({self.cache_error})"
                       + "".join(f"; {t}" for t in tried))
            self._record(exit_code=10 if exit_code is not None else None, error=message, moved=kept, lost=True)
            raise errors.ResultLost(message)
        places = ", ".join(str(item.placed) for item in kept)
        message = f"the cache could not take {what} ({self.cache_error}); kept at {places}"
        self._record(exit_code=9 if exit_code is not None else None, error=message, moved=kept)
        raise errors.ResultRescued(message, hint="free space on, or fix the permissions of, the cache directory "
                                   "('aigw config path' shows it)")

    def _record(self, *, exit_code: int | None, error: str, moved: list[Pending], lost: bool = False) -> None:
        """Best effort: the log may be what failed."""
        with contextlib.suppress(errors.RunLogError):
            self.emit(DeliveryFailed(self.run_id, error, exit_code, lost,
                                     tuple((i.final, i.placed, len(i.data), i.sha256 or _sha(i.data))
                                           for i in moved if i.placed is not None), self.created))


def with_provenance(data: bytes, ext: str, fields: dict[str, Any]) -> tuple[bytes, bytes | None]:
    """(the bytes with the fields embedded, None), or (the bytes unchanged, the sidecar's bytes)."""
    from aigw.store import provenance

    try:
        return provenance.embed(data, ext, fields), None
    except provenance.CannotCarry:
        return data, provenance.sidecar(fields)


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _to_rescue_dir(item: Pending) -> Path:
    """<tmp>/aigw-rescue-<uid>/<name>, 0600 in a 0700 directory that must be ours: a directory
    someone else made there first could be read by them, so it is not used."""
    top = rescue_dir()
    private_dirs(top, top)
    info = os.lstat(top)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise OSError(0, "not a private directory owned by this user", str(top))
    dest = top / item.final.name
    part, item.sha256 = write_part(dest, item.data, cache_dir=top)
    try:
        os.replace(part, dest)
    except OSError:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    return dest

