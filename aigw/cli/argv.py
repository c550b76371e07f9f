"""Command-line details the root app needs before click parses anything.

- `-q/--quiet` and `-v/--verbose` are global options, also accepted after the subcommand
  (`aigw generate "x" -q`): they are lifted to the front before parsing.
- A command that shows its help when given no arguments (`aigw`, `aigw transcribe`, `aigw config`)
  shows it on stderr and exits 2: that is a usage error, and stdout carries only data.
- Help shows metavars that say what a value is (`--model MODEL`), not `<str>` or `<bool>`.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable

GLOBAL_FLAGS = frozenset({"-q", "--quiet", "-v", "--verbose"})


def _subcommands(node: Any) -> dict[str, Any]:
    commands = getattr(node, "commands", None)
    return commands if isinstance(commands, dict) else {}


def _takes_value(node: Any, token: str) -> bool:
    """True when `token` is an option of `node` that consumes the next argument."""
    if "=" in token:
        return False
    for param in getattr(node, "params", ()):
        if getattr(param, "param_type_name", "") != "option" or getattr(param, "is_flag", False):
            continue
        if getattr(param, "count", False):
            continue
        if token in (*param.opts, *param.secondary_opts):
            return True
    return False


def lift_global_flags(root: Any, args: list[str]) -> tuple[list[str], Any, int]:
    """(args with -q/-v moved to the front, the innermost command named, how many arguments
    follow that command's name). Values of options and anything after `--` are left alone."""
    lifted: list[str] = []
    rest: list[str] = []
    node = root
    after_name = 0
    expecting_value = after_dashdash = False
    for token in args:
        if after_dashdash or expecting_value:
            rest.append(token)
            expecting_value = False
            after_name += 1
            continue
        if token == "--":
            after_dashdash = True
        elif token in GLOBAL_FLAGS:
            lifted.append(token)
            continue
        elif not token.startswith("-") and token in _subcommands(node):
            node = _subcommands(node)[token]
            rest.append(token)
            after_name = 0
            continue
        else:
            expecting_value = _takes_value(node, token)
        rest.append(token)
        after_name += 1
    return lifted + rest, node, after_name


def help_on_stderr(invoke: Callable[[list[str]], Any], args: list[str]) -> int:
    """Print the help `args` + --help would print, on stderr; the exit code of a usage error."""
    with contextlib.redirect_stdout(sys.stderr):
        try:
            invoke([*args, "--help"])
        except SystemExit:
            pass
        except Exception as exc:  # click's Exit(0) after the help
            if type(exc).__name__ not in ("Exit",):
                raise
    return 2


def tidy_help(command: Any) -> None:
    """Metavars that name the value: `--model MODEL`; flags and arguments get none."""
    original = command.get_params

    def get_params(ctx: Any) -> list[Any]:
        params = original(ctx)
        for param in params:
            _tidy_param(param)
        return params

    command.get_params = get_params
    for sub in _subcommands(command).values():
        tidy_help(sub)


def _tidy_param(param: Any) -> None:
    if getattr(param, "_aigw_tidy", False):
        return
    label: str | None = None
    if getattr(param, "param_type_name", "") == "option" and not (param.is_flag or getattr(param, "count", False)):
        longs = [o[2:] for o in param.opts if o.startswith("--")]
        label = param.metavar or (longs[0] if longs else param.name or "value").upper().replace("-", "_")
    param.display_type_rich = lambda ctx, _label=label: _label
    param._aigw_tidy = True
