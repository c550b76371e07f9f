"""`aigw models`: the catalog, what you can use now, and prices."""

from __future__ import annotations

from typing import Optional

import typer

HELP = """List models: id, kind, providers, price, sizes or formats, typical latency.

A terminal gets a table, a pipe gets one id per line, --json gets objects.

  aigw models --available
  aigw models --kind audio --json
"""


def command(
    available: bool = typer.Option(False, "--available", help="Only models a configured, enabled provider serves."),
    kind: Optional[str] = typer.Option(None, "--kind", help="image or audio."),
    provider: Optional[str] = typer.Option(None, "--provider", help="Only models this provider serves."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array of objects."),
) -> None:
    from aigw.cli.common import make_context
    from aigw.cli.output import print_json, print_lines, stdout_is_tty
    from aigw.errors import UsageError
    from aigw.services.models import list_models

    if kind not in (None, "image", "audio"):
        raise UsageError(f"unknown kind {kind}", hint="--kind image or --kind audio")
    rows = list_models(make_context(), available=available, kind=kind, provider=provider)
    if as_json:
        print_json(rows)
    elif stdout_is_tty():
        _table(rows)
    else:
        print_lines([r["id"] for r in rows])


def _table(rows: list[dict]) -> None:  # type: ignore[type-arg]
    from rich.console import Console
    from rich.table import Table

    table = Table("model", "kind", "providers", "price", "sizes / formats", "latency", box=None)
    for r in rows:
        provs = ", ".join(
            p["name"] + ("*" if p["configured"] else "") + (" (retired)" if p["retired"] else "") for p in r["providers"]
        )
        table.add_row(r["id"], r["kind"], provs, r["price"] or "unknown",
                      ", ".join(r["sizes"] or r["formats"]), f"~{r['typical_latency_s']:g} s" if r["typical_latency_s"] else "")
    Console().print(table)
    Console(stderr=True).print("[dim]* configured[/dim]")
