"""Which process owns a run, a rate-limit slot or a temporary file, and whether it is still alive.

An owner token is `pid:start:boot`: the pid, the process's start time in clock ticks since boot
(field 22 of /proc/PID/stat) and the kernel's boot id. A pid reused by another process, or the same
pid after a reboot, does not match, so a dead owner is never taken for a live one. Where /proc is
missing (macOS, BSD) the token is `pid::` and liveness falls back to `os.kill(pid, 0)`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

PROC = Path("/proc")


@lru_cache(maxsize=1)
def _boot_id() -> str:
    try:
        return (PROC / "sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        return ""


def _start_ticks(pid: int) -> str | None:
    """The process's start time, '' where /proc cannot tell, None when it is gone (or a zombie)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        return None if PROC.joinpath("self").exists() else ""
    except OSError:
        return ""
    fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) ": state is fields[0], start fields[19]
    if fields and fields[0] in ("Z", "X"):  # killed, not yet reaped: dead
        return None
    return fields[19] if len(fields) > 19 else ""


def token_of(pid: int) -> str | None:
    """The owner token of a running process, None when no such process runs."""
    start = _start_ticks(pid)
    if start is None:
        return None
    if start == "" and not _pid_exists(pid):
        return None
    return f"{pid}:{start}:{_boot_id() if start else ''}"


@lru_cache(maxsize=1)
def current() -> str:
    """This process's own token."""
    return token_of(os.getpid()) or f"{os.getpid()}::"


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, owned by someone else
        return True
    return True


def alive(token: str) -> bool:
    """Whether the process a token names still runs (the same process, not a reuse of its pid)."""
    pid_text, _, rest = token.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return True  # not a token we wrote: leave it alone
    if pid == os.getpid():
        return token == current()
    start, _, boot = rest.partition(":")
    now = token_of(pid)
    if now is None:
        return False
    now_start, _, now_boot = now.split(":", 1)[1].partition(":")
    if start and now_start:
        return (start, boot) == (now_start, now_boot)
    return True  # no start time to compare (no /proc): the pid exists


def file_tag() -> str:
    """The token in a form fit for a file name: `<pid>-<start>`."""
    pid, start, _ = current().split(":")
    return f"{pid}-{start}" if start else pid


def tag_alive(tag: str) -> bool:
    """`alive` for a `file_tag()`: `<pid>-<start>` (or `<pid>` where /proc is missing)."""
    pid, _, start = tag.partition("-")
    if not pid.isdigit():
        return True  # not a name we wrote
    boot = _boot_id() if start else ""
    return alive(f"{pid}:{start}:{boot}")
