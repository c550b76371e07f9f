"""`aigw models`: the catalog, what you can use now, prices, and a reachability check."""

from __future__ import annotations

from typing import Any, Optional

import typer

HELP = """List models: id, kind, providers, price, sizes or formats, typical latency.

A terminal gets a table, a pipe gets one id per line, --json gets objects. Configured providers are
marked *, retired ones (retired), open circuits with the time they close.
Examples:

  aigw models --available
  aigw models --kind audio --json
  aigw models --check
"""


def command(
    available: bool = typer.Option(False, "--available", help="Only models a configured, enabled provider can "
                                   "serve now (its circuit not open)."),
    kind: Optional[str] = typer.Option(None, "--kind", help="image or audio."),
    provider: Optional[str] = typer.Option(None, "--provider", "-p", help="Only models this provider serves."),
    check: bool = typer.Option(False, "--check", help="One cheap authenticated request per configured provider; "
                               "closes the circuit of each one found healthy."),
    as_json: bool = typer.Option(False, "--json", help="JSON objects instead of a table or ids."),
) -> None:
    from aigw.cli.common import make_engine, with_engine
    from aigw.cli.output import print_json, print_lines, stdout_is_tty
    from aigw.errors import UsageError
    from aigw.services.models import check_providers, list_models

    if kind not in (None, "image", "audio"):
        raise UsageError(f"unknown kind {kind}", hint="--kind image or --kind audio")
    engine = make_engine()
    if check:
        results = with_engine(engine, lambda e: check_providers(e, only=provider))
        if as_json:
            print_json(results)
        else:
            print_lines([_check_line(r) for r in results])
        if any(r["reachable"] is False or r["key_accepted"] is False for r in results):
            raise typer.Exit(4)
        return
    rows = with_engine(engine, lambda e: _list(e, available=available, kind=kind, provider=provider))
    if as_json:
        print_json(rows)
    elif stdout_is_tty():
        _table(rows)
    else:
        print_lines([r["id"] for r in rows])


async def _list(engine, **kwargs):  # type: ignore[no-untyped-def]
    from aigw.services.models import list_models

    return list_models(engine, **kwargs)


def _check_line(r: dict[str, Any]) -> str:
    reach = {True: "reachable", False: "UNREACHABLE", None: "unknown"}[r["reachable"]]
    key = {True: "key accepted", False: "KEY REJECTED", None: "key not tested"}[r["key_accepted"]]
    latency = f"{r['latency_ms']:.0f} ms" if r.get("latency_ms") is not None else "-"
    detail = r.get("detail", "") + ("; circuit closed" if r.get("circuit_closed") else "")
    return f"{r['provider']}\t{reach}\t{key}\t{latency}\t{detail.lstrip('; ')}"


def _table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("model", "kind", "providers", "price", "sizes / formats", "latency", box=None)
    for r in rows:
        provs = []
        for p in r["providers"]:
            mark = p["name"] + ("*" if p["configured"] else "")
            if p["retired"]:
                mark += f" (retired {p['retired']})"
            if p["circuit"] == "open":
                mark += f" (circuit open until {p['circuit_open_until'][11:19]})"
            elif p["circuit"] == "half-open":
                mark += " (circuit half-open)"
            provs.append(mark)
        table.add_row(r["id"], r["kind"], ", ".join(provs), r["price"] or "unknown",
                      ", ".join(r["sizes"] or r["formats"]), f"~{r['typical_latency_s']:g} s" if r["typical_latency_s"] else "")
    Console().print(table)
    Console(stderr=True).print("[dim]* configured[/dim]")
