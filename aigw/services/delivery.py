"""Where a result goes besides the cache: the `-o` rules, the same for images and transcripts.

An existing directory, or a path ending in `/`, is a directory (created if missing) and each result
keeps its cache file name there. Anything else is a file. A file that exists and is not a regular
file (a device such as /dev/null, a FIFO, a symlink such as /dev/stdout) is opened and written
through, never replaced; a regular file or a new name is written beside its final name and renamed,
so a failure leaves no partial file. Files written here follow the umask like any tool's output."""

from __future__ import annotations

import io
import os
import stat
import sys
from pathlib import Path

from aigw import errors
from aigw.store.files import write_atomic, write_through


def is_directory(output: str) -> bool:
    return output.endswith(("/", os.sep)) or Path(output).expanduser().is_dir()


def _is_special(path: Path) -> bool:
    """Something that is there and is not a regular file: written through, never replaced."""
    try:
        return not stat.S_ISREG(os.lstat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return False


def targets(output: str, names: list[str], *, add_suffix: bool) -> list[Path]:
    """Where each result (by its cache file name) goes for `-o output`. `add_suffix` gives a new
    file name with no suffix the result's own (generate); an existing path is never renamed."""
    target = Path(output).expanduser()
    if is_directory(output):
        return [target / name for name in names]
    if _is_special(target):
        return [target] * len(names)
    if len(names) == 1 and add_suffix and not target.suffix and not os.path.lexists(target):
        return [target.with_name(target.name + Path(names[0]).suffix)]
    return _numbered(target, names)


def _numbered(target: Path, names: list[str]) -> list[Path]:
    if len(names) == 1:
        return [target]
    suffix = target.suffix or Path(names[0]).suffix
    return [target.with_name(f"{target.stem}-{i}{suffix}") for i in range(1, len(names) + 1)]


def is_stdout(path: Path) -> bool:
    """-o /dev/stdout (or /proc/self/fd/1, or the file stdout is redirected to): our own stdout."""
    try:
        here, out = os.stat(path), os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False
    return (here.st_dev, here.st_ino) == (out.st_dev, out.st_ino)


def write_outputs(output: str, items: list[tuple[str, bytes]], *, add_suffix: bool) -> list[Path]:
    """Write each (cache name, bytes) where `-o` says; OutputNotWritten names the first failure."""
    dest = Path(output)
    try:
        dests = targets(output, [name for name, _ in items], add_suffix=add_suffix)
    except OSError as exc:
        raise errors.OutputNotWritten(f"could not write {dest}: {exc.strerror or exc}") from exc
    for dest, (_, data) in zip(dests, items):
        try:
            if is_stdout(dest):
                # Through the open stream, as -o - does: opening it again would truncate a file
                # the shell appends to (>>) and write over what was printed before.
                sys.stdout.flush()
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
            elif _is_special(dest):
                write_through(dest, data)
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(dest, data)
        except BrokenPipeError:
            raise  # the reader went away (| head): not a failure to report
        except OSError as exc:
            raise errors.OutputNotWritten(f"could not write {dest}: {exc.strerror or exc}") from exc
    return dests
