"""cli/coercion.py: an option not given is answered as typer would, without a pydantic validator."""

from __future__ import annotations

from typing import List, Optional

import pytest
import typer
import typer.core
from typer.testing import CliRunner

from aigw.cli.coercion import skip_unset

seen: dict[str, object] = {}


def remember(value: object) -> object:
    seen["callback"] = value
    return value


app = typer.Typer()


@app.command()
def cmd(name: str = typer.Option(..., "--name"),
        count: int = typer.Option(1, "--count", min=1),
        label: Optional[str] = typer.Option(None, "--label"),
        tag: Optional[List[str]] = typer.Option(None, "--tag"),
        ratio: Optional[float] = typer.Option(None, "--ratio", callback=remember)) -> None:
    seen.update(name=name, count=count, label=label, tag=tag, ratio=ratio)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The parameters typer built a validator for, in this run."""
    assert skip_unset(), "the installed typer is not the one cli/coercion.py was written against"
    names: list[str] = []
    real = typer.core.build_runtime_param

    def counted(descriptor):  # type: ignore[no-untyped-def]
        names.append(repr(descriptor.annotation))
        return real(descriptor)

    monkeypatch.setattr(typer.core, "build_runtime_param", counted)
    seen.clear()
    return names


def test_unset_options_get_typers_own_values_and_no_validator(built: list[str]) -> None:
    result = CliRunner().invoke(app, ["--name", "x"])
    assert result.exit_code == 0, result.output
    assert seen == {"name": "x", "count": 1, "label": None, "tag": None, "ratio": None, "callback": None}
    assert built == ["<class 'str'>", "<class 'int'>"]  # the given name and the default count only


def test_given_values_are_still_coerced_and_checked(built: list[str]) -> None:
    result = CliRunner().invoke(app, ["--name", "x", "--count", "3", "--tag", "a", "--tag", "b", "--ratio", "0.5"])
    assert result.exit_code == 0, result.output
    assert seen["count"] == 3 and seen["tag"] == ["a", "b"] and seen["ratio"] == 0.5 == seen["callback"]
    assert CliRunner().invoke(app, ["--name", "x", "--count", "0"]).exit_code == 2  # min=1 still holds
    assert CliRunner().invoke(app, ["--name", "x", "--ratio", "half"]).exit_code == 2


def test_a_required_option_left_out_is_still_a_usage_error(built: list[str]) -> None:
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 2
    assert "Missing option '--name'" in result.output
