"""Which signal is ending this process, if any: Ctrl-C (SIGINT), SIGTERM or SIGHUP.

The CLI's signal handlers record it here and cancel the run's task; the code that logs the run
(aigw/engine/run.py) reads it to log the right exit code. Importable from any layer, like clock.
"""

from __future__ import annotations

import signal

# The shell's convention: 128 + the signal's number.
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
if hasattr(signal, "SIGHUP"):
    EXIT_CODES[signal.SIGHUP] = 129
NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
if hasattr(signal, "SIGHUP"):
    NAMES[signal.SIGHUP] = "SIGHUP"

_received: list[int] = []


def record(signum: int) -> None:
    _received.append(signum)


def received() -> int | None:
    """The first signal received since the last reset, else None."""
    return _received[0] if _received else None


def reset() -> None:
    _received.clear()


def exit_code() -> int:
    """Exit code for an interruption: 143 for SIGTERM, 129 for SIGHUP, else 130 (Ctrl-C)."""
    sig = received()
    return EXIT_CODES.get(signal.Signals(sig), 130) if sig is not None else 130


def describe() -> str:
    sig = received()
    return f"interrupted ({NAMES.get(signal.Signals(sig), 'signal')})" if sig is not None else "interrupted"
