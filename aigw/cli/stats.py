"""`aigw stats`: requests, success, failovers, latency, cost and its drift, cache hits, budgets."""

from __future__ import annotations

from typing import Any, Optional

import typer

HELP = """Sum up past runs: requests, success rate, failovers, p50/p95 latency, cost (actual and
estimated, and how far apart), cache hits and what they saved, and spend against the budgets.

The totals are sums over the runs 'aigw logs' shows for the same window. Examples:

  aigw stats
  aigw stats --since 30d --by provider
  aigw stats --since 2026-12-01 --by day --json
"""

GROUPINGS = ("provider", "model", "day", "kind")


def command(
    since: Optional[str] = typer.Option("7d", "--since", help="30m, 2h, 1d, 2w, a date (2026-12-01), or 'all'."),
    by: Optional[str] = typer.Option(None, "--by", help="provider, model, day or kind: one row each."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object (see README 'aigw stats')."),
) -> None:
    from datetime import datetime, timezone

    from aigw.cli.common import settings_and_cache
    from aigw.cli.output import STATE, print_json
    from aigw.errors import UsageError
    from aigw.store import open_store
    from aigw.store import stats as figures
    from aigw.store.history import Filters, History

    STATE.json = as_json
    if by is not None and by not in GROUPINGS:
        raise UsageError(f"unknown grouping {by}", hint="allowed: " + ", ".join(GROUPINGS))
    now = datetime.now(timezone.utc)
    start = None if since in (None, "all") else figures.parse_since(since, now)
    settings, cache = settings_and_cache()
    log = open_store(cache)
    try:
        runs = History(log.conn).runs(Filters(since=start))
        limits = {"daily": settings.budget.daily_usd, "monthly": settings.budget.monthly_usd}
        report: dict[str, Any] = {
            "since": start.isoformat() if start else None, "until": now.isoformat(), "by": by,
            "totals": figures.summarise(runs), "groups": figures.grouped(runs, by) if by else [],
            "budget": figures.budget(log.spent_since, limits, now),
        }
    finally:
        log.close()
    if as_json:
        print_json(report)
    else:
        from aigw.cli.output import print_lines
        from aigw.cli.stats_view import lines

        print_lines(lines(report))
