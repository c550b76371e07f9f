"""stdout is for data; everything a person reads goes to stderr. Rich loads only when it draws."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Any


@dataclass
class UI:
    quiet: bool = False
    verbose: bool = False

    @property
    def color(self) -> bool:
        return sys.stderr.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"

    def _say(self, prefix: str, style: str, message: str) -> None:
        if self.color:
            sys.stderr.write(f"\x1b[{style}m{prefix}\x1b[0m{message}\n")
        else:
            sys.stderr.write(f"{prefix}{message}\n")
        sys.stderr.flush()

    def info(self, message: str) -> None:
        if not self.quiet:
            self._say("", "2", message)

    def notice(self, message: str) -> None:
        if not self.quiet:
            self._say("notice: ", "1;36", message)

    def warn(self, message: str) -> None:
        if not self.quiet:
            self._say("warning: ", "1;33", message)

    def error(self, message: str, hint: str | None = None) -> None:
        self._say("aigw: error: ", "1;31", message)
        if hint:
            self._say("hint: ", "1;34", hint)

    def notify(self, message: str) -> None:
        """Messages from the core: warnings keep their prefix, the rest are notices or info."""
        if message.startswith("warning: "):
            self.warn(message[len("warning: "):])
        elif message.startswith("estimated cost"):
            self.info(message)
        else:
            self.notice(message)


STATE = UI()


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def print_lines(lines: list[str]) -> None:
    for line in lines:
        sys.stdout.write(line + "\n")
    sys.stdout.flush()


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()
