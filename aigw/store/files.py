"""Result files: results/YYYY-MM-DD/<run-id>[-N].<ext>, written to a temporary name, then renamed.

Everything aigw creates in the cache is private whatever the umask: directories 0700, files 0600.
A temporary file is named `.<name>.<pid>.part` beside its final name, so whoever finds one left
behind can tell from the pid whether its writer is still alive."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def result_path(cache_dir: Path, run_id: str, created_at: datetime, ext: str, index: int | None) -> Path:
    """The folder is the local calendar day, the day budgets count (run ids and the log are UTC)."""
    suffix = f"-{index}" if index is not None else ""
    day = created_at.astimezone() if created_at.tzinfo is not None else created_at
    return cache_dir.joinpath("results", "%04d-%02d-%02d" % (day.year, day.month, day.day), f"{run_id}{suffix}.{ext}")


def part_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.part")


def private_dirs(directory: Path, top: Path) -> None:
    """mkdir -p, creating `top` and everything below it 0700 (what is above `top` is the user's)."""
    if directory.is_dir():
        return
    if directory != top and top in directory.parents:
        private_dirs(directory.parent, top)
    else:
        directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(directory, PRIVATE_DIR)
    except FileExistsError:
        if not directory.is_dir():  # a file in the way: say so rather than "File exists"
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(directory)) from None
        return
    # mkdir's mode is masked by the umask; 0700 must not depend on it.
    os.chmod(directory, PRIVATE_DIR)


def create_private(path: Path) -> None:
    """Create an empty 0600 file if none is there (SQLite then gives -wal and -shm the same mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    os.fchmod(fd, PRIVATE_FILE)
    os.close(fd)


@contextlib.contextmanager
def _removed_on_failure(path: Path) -> Iterator[None]:
    try:
        yield
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def write_part(path: Path, data: bytes, *, cache_dir: Path) -> tuple[Path, str]:
    """Write the bytes to `path`'s temporary name, 0600; return (that name, sha256). On any failure
    nothing is left behind. No fsync: the rename that follows is atomic against a crashed process,
    and a sync per image would cost more than all of aigw's other per-request work together."""
    part = part_path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    try:
        fd = os.open(part, flags, PRIVATE_FILE)
    except (FileNotFoundError, NotADirectoryError):
        # The folder is made (0700) when a write finds it missing, not checked before every write:
        # the day's first result, or a folder someone removed. A file in the way is said here.
        private_dirs(path.parent, cache_dir)
        fd = os.open(part, flags, PRIVATE_FILE)
    with _removed_on_failure(part):
        try:
            os.fchmod(fd, PRIVATE_FILE)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    return part, hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """A regular file at `path` with these bytes, or (on failure) no trace: written beside it to a
    temporary name and renamed. `mode` None follows the umask, like any tool's output."""
    part = part_path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(part, flags, 0o666 if mode is None else mode)
    with _removed_on_failure(part):
        with open(fd, "wb") as fh:
            fh.write(data)
        os.replace(part, path)


def write_through(path: Path, data: bytes) -> None:
    """Open and write, for what must not be replaced: a device, a FIFO, a symlink."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()


def spool(stream: BinaryIO, dest: Path, *, cache_dir: Path, chunk: int = 1 << 20) -> int:
    """Copy a stream (stdin) to a private file in the cache in chunks; never holds the whole input
    in memory."""
    private_dirs(dest.parent, cache_dir)
    total = 0
    with open(os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE), "wb") as out:
        while True:
            block = stream.read(chunk)
            if not block:
                break
            out.write(block)
            total += len(block)
    return total
