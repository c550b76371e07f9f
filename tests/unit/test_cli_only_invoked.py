"""cli/main.py builds only the subcommand a call names; the root, and a name that is none, get them all."""

from __future__ import annotations

import pytest
import typer.main

from aigw.cli.main import run

SUBCOMMANDS = ("generate", "transcribe", "models", "config", "bench", "logs", "stats", "cache")


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the commands and groups typer built a click command for, in this call."""
    names: list[str] = []
    command, group = typer.main.get_command_from_info, typer.main.get_group_from_info

    def counted_command(command_info, **kwargs):  # type: ignore[no-untyped-def]
        names.append(command_info.name)
        return command(command_info, **kwargs)

    def counted_group(group_info, **kwargs):  # type: ignore[no-untyped-def]
        names.append(group_info.name)
        return group(group_info, **kwargs)

    monkeypatch.setattr(typer.main, "get_command_from_info", counted_command)
    monkeypatch.setattr(typer.main, "get_group_from_info", counted_group)
    return names


def exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as done:
        run(argv)
    return int(done.value.code or 0)


def test_a_subcommand_call_builds_that_subcommand_only(built: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["-q", "generate", "--help"]) == 0
    assert "Usage: aigw generate" in capsys.readouterr().out
    assert [name for name in built if name in SUBCOMMANDS] == ["generate"]
    built.clear()
    assert exit_code(["config", "keys", "--help"]) == 0  # a group keeps all of its own commands
    assert "Usage: aigw config keys" in capsys.readouterr().out
    assert [name for name in built if name in SUBCOMMANDS] == ["config"]


def test_the_roots_help_lists_every_subcommand(built: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SUBCOMMANDS), out
    assert sorted(name for name in built if name in SUBCOMMANDS) == sorted(SUBCOMMANDS)


def test_a_name_that_is_no_subcommand_still_gets_clicks_suggestion(built: list[str],
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(["generat", "x"]) == 2
    err = capsys.readouterr().err
    assert "No such command 'generat'" in err and "generate" in err, err
