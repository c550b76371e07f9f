"""Writing aigw's files: atomically, and privately where secrets live."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aigw.errors import ConfigError


def atomic_write(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Write to a temporary name beside `path`, then rename over it: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it, or a stale temporary file had other bits
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}",
                          hint=f"check the permissions of {path.parent}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def secure_dir(directory: Path) -> None:
    """The directory holding keys.toml: created 0700, and narrowed to 0700 on every write when it is
    aigw's own (see paths.owns); a directory aigw does not own is never chmodded."""
    from aigw.settings.paths import KEYS_DIR, owns

    try:
        try:
            directory.mkdir(parents=True, mode=0o700)
            os.chmod(directory, 0o700)  # mkdir's mode passes through the umask
            return
        except FileExistsError:  # there already, or made this instant by a concurrent aigw
            pass
        if owns(directory):
            os.chmod(directory, 0o700)
        elif directory.name == KEYS_DIR:
            raise ConfigError(f"{directory} is not private to you",
                              hint=f"remove it, or make it yours and 'chmod 700 {directory}'")
    except OSError as exc:
        raise ConfigError(f"cannot make {directory} private: {exc.strerror or exc}",
                          hint=f"run 'chmod 700 {directory}'") from exc


@contextmanager
def locked(path: Path, *, private: bool = False) -> Iterator[None]:
    """Hold an exclusive lock for a read-modify-write of `path`, so concurrent aigw processes editing
    the same file each see the others' changes. POSIX: flock on the file's directory (no lock file
    left behind); Windows: a `.NAME.lock` file through filelock."""
    if private:
        secure_dir(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        from filelock import FileLock

        with FileLock(str(path.with_name(f".{path.name}.lock")), timeout=30):
            yield
        return
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock

def read_keys(path: Path) -> dict[str, str]:
    """Stored keys by provider name; a malformed keys.toml is a configuration error naming its line."""
    from aigw.settings.layers import keys_layer

    providers = keys_layer(path).data.get("providers", {})
    return {name: table["api_key"] for name, table in providers.items()}


def write_keys(path: Path, keys: dict[str, str]) -> None:
    """keys.toml, 0600 in a 0700 directory, enforced on every write (not only on creation)."""
    import tomlkit

    secure_dir(path.parent)
    doc = tomlkit.document()
    doc.add(tomlkit.comment("aigw provider keys, one per provider; managed by 'aigw config keys'. Mode 0600."))
    for name in sorted(keys):
        doc[name] = keys[name]
    atomic_write(path, tomlkit.dumps(doc), mode=0o600)
