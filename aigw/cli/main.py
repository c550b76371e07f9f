"""The root app and the single error boundary: a known error is one line, a hint and an exit code."""

from __future__ import annotations

import copy
import gc
import os
import sys

import typer

from aigw import __version__
from aigw.cli import bench, cache, config, generate, logs, models, stats, transcribe
from aigw.cli.output import STATE

app = typer.Typer(
    name="aigw",
    help="A command-line AI gateway for image generation and audio transcription.\n\n"
    "One config, many providers, failover, and the cost of every run. Data goes to stdout; "
    "progress and diagnostics go to stderr.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aigw {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show tracebacks and debug detail on stderr."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    STATE.verbose = verbose
    STATE.quiet = quiet


def _prose(text: str) -> str:
    """Help text whose prose paragraphs are one line each, so that the terminal's width wraps them
    (rich keeps a docstring's line breaks); indented lines (examples) keep theirs. "Examples:" stays
    on a line of its own, which also keeps typer's dedent from eating the examples' indent."""
    paragraphs = text.strip("\n").split("\n\n")
    return "\n\n".join(p if any(line.startswith(" ") for line in p.splitlines())
                       else " ".join(p.split("\n")).replace(" Examples:", "\nExamples:") for p in paragraphs)


app.command("generate", help=_prose(generate.HELP), no_args_is_help=False)(generate.command)
app.command("transcribe", help=_prose(transcribe.HELP), no_args_is_help=True)(transcribe.command)
app.command("models", help=_prose(models.HELP))(models.command)
app.add_typer(config.app, name="config")
app.command("bench", help=_prose(bench.HELP))(bench.command)
app.command("logs", help=_prose(logs.HELP))(logs.command)
app.command("stats", help=_prose(stats.HELP))(stats.command)
app.add_typer(cache.app, name="cache")


def _click_classes() -> tuple[type[Exception], type[Exception]]:
    """(ClickException, UsageError) of the click that this typer uses: typer 0.29 vendors its own
    copy, older releases use the click package. Found through typer's public BadParameter."""
    mro = typer.BadParameter.__mro__
    return (next(c for c in mro if c.__name__ == "ClickException"),
            next(c for c in mro if c.__name__ == "UsageError"))


# The subcommands that end in a run (cli/common.py run_async) or exit, whatever they are given.
RUNS = frozenset({"generate", "transcribe"})


def _invoked(args: list[str]) -> str | None:
    """The subcommand `args` name first (after -q/-v), if they start with one and are not a shell
    completing a word."""
    from aigw.cli.argv import GLOBAL_FLAGS

    name = next((arg for arg in args if arg not in GLOBAL_FLAGS), None)
    if name is None or name.startswith("-") or "_AIGW_COMPLETE" in os.environ:
        return None
    return name


def _only_invoked(name: str | None) -> typer.Typer:
    """The app with only the subcommand `name`, or the whole app.

    Typer builds a click command from every subcommand's signature before it parses anything, and
    a one-shot `aigw generate` spent about 2% of its instructions building the other seven. The
    root's own options, help and version, shell completion and a name that is no subcommand
    (click's "No such command", with its suggestions) all get the whole app."""
    if name is None:
        return app
    commands = [info for info in app.registered_commands if info.name == name]
    groups = [info for info in app.registered_groups if info.name == name]
    if not commands and not groups:
        return app
    narrowed = copy.copy(app)  # the same root (callback, options, settings), one subcommand
    narrowed.registered_commands, narrowed.registered_groups = commands, groups
    return narrowed


def run(argv: list[str] | None = None) -> None:
    """Console-script entry point: never lets an exception escape as a traceback unless -v."""
    if argv is None:  # a process of its own (the console script, python -m aigw), not a caller's
        # What is loaded by now (typer, rich, the command tree) lives as long as the process: frozen,
        # the garbage collector's full passes skip it. Without this, one full pass over typer's and
        # pydantic's objects while typer builds the commands costs about a tenth of a one-shot run.
        gc.freeze()
        STATE.own_process = True
    click_exception, usage_error = _click_classes()
    from aigw.cli.argv import help_on_stderr, lift_global_flags, tidy_help
    from aigw.cli.coercion import skip_unset

    skip_unset()  # no pydantic validator built for an option not given
    given = sys.argv[1:] if argv is None else argv
    name = _invoked(given)
    if name in RUNS:
        from aigw.cli.common import collect_from_the_run

        collect_from_the_run()
    command = typer.main.get_command(_only_invoked(name))
    tidy_help(command)
    from aigw.cli.batch import resume_argv

    args, named, after = lift_global_flags(command, resume_argv(given))
    STATE.argv = tuple(args)
    STATE.verbose = "-v" in args or "--verbose" in args
    STATE.json = False  # set by a command given --json

    def invoke(argv: list[str]) -> object:
        return command.main(args=argv, prog_name="aigw", standalone_mode=False)

    code = 0
    try:
        # Shell completion (`aigw --install-completion`) runs aigw with no arguments and reads the
        # candidates on stdout: that is not the usage error of a bare `aigw`.
        completing = "_AIGW_COMPLETE" in os.environ
        if getattr(named, "no_args_is_help", False) and after == 0 and not completing:
            code = help_on_stderr(invoke, args)  # `aigw`, `aigw transcribe`: a usage error
        else:
            result = invoke(args)
            code = result if isinstance(result, int) else 0
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.Abort:
        STATE.error("interrupted")
        code = 130
    except click_exception as exc:
        import io

        from aigw.redact import neutralise

        shown = io.StringIO()
        exc.show(file=shown)  # type: ignore[attr-defined]
        sys.stderr.write(neutralise(shown.getvalue(), keep_lines=True))  # it may echo an argument
        code = 2 if isinstance(exc, usage_error) else exc.exit_code  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        STATE.error("interrupted")
        code = 130
    except BrokenPipeError:
        # The reader went away (aigw ... | head): not an error worth a message.
        sys.stderr.close()
        code = 0
    except Exception as exc:
        from aigw.errors import AigwError

        if STATE.verbose:
            import traceback

            from aigw.redact import neutralise, redact

            sys.stderr.write(neutralise(redact(traceback.format_exc()), keep_lines=True))
        if isinstance(exc, AigwError):
            message, hint, code = exc.message, exc.hint, exc.exit_code
        else:
            message, hint, code = f"unexpected {type(exc).__name__}: {exc}", "run again with -v for the traceback", 1
        STATE.error(message, hint)
        if STATE.json:  # --json: the failure is data too, with every attempt
            from aigw.cli.output import print_json
            from aigw.cli.schema import failure_json

            try:
                print_json(failure_json(exc, code, message, hint))
            except OSError:  # stdout itself is what failed (> /dev/full): stderr has said it all
                from aigw.cli.save import discard_stdout

                discard_stdout()
    sys.exit(code)
