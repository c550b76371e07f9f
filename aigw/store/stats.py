"""`aigw stats` figures: pure sums over the runs `aigw logs` reads, so that every total is the sum of
what `aigw logs --json` shows for the same window (a test holds them to it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from aigw.store.history import FAILED, LoggedRun

GROUPINGS = ("provider", "model", "day", "kind")
MONEY_DIGITS = 6  # sums of float prices carry noise past a millionth of a dollar


def _money(value: float) -> float:
    return round(float(value), MONEY_DIGITS)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest rank (the value at ceil(q * n)): always one of the measured latencies."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(q * 100) * len(ordered) // 100))
    return round(ordered[rank - 1], 1)


def served_attempt(run: LoggedRun) -> dict[str, Any] | None:
    return next((a for a in run.attempts if a["served"]), None)


def summarise(runs: Sequence[LoggedRun]) -> dict[str, Any]:
    ok = [r for r in runs if r.row["status"] == "ok"]
    served = [a for a in (served_attempt(r) for r in runs) if a is not None]
    attempts = [a for r in runs for a in r.attempts]
    latencies = [r.row["latency_ms"] for r in ok if r.row["latency_ms"] is not None]
    cost = sum(a["actual_cost_usd"] for a in attempts if a["actual_cost_usd"] is not None)
    estimated = sum(a["estimated_cost_usd"] for a in served if a["estimated_cost_usd"] is not None)
    both = [a for a in served if a["actual_cost_usd"] is not None and a["estimated_cost_usd"] is not None]
    drift = sum(a["actual_cost_usd"] - a["estimated_cost_usd"] for a in both)
    drift_base = sum(a["estimated_cost_usd"] for a in both)
    hits = [r for r in runs if r.cache_hit]
    return {
        "requests": len(runs),
        "ok": len(ok),
        "failed": sum(1 for r in runs if r.row["status"] in FAILED),
        "success_rate": round(len(ok) / len(runs), 4) if runs else None,
        "attempts": len(attempts),
        "failovers": sum(1 for r in runs if len(r.attempts) > 1),
        "served_by_later_hop": sum(1 for a in served if a["hop"] > 1),
        "latency_p50_ms": percentile(latencies, 0.50),
        "latency_p95_ms": percentile(latencies, 0.95),
        "cost_usd": _money(cost),
        "estimated_cost_usd": _money(estimated),
        "avg_cost_usd": _money(cost / len(ok)) if ok else None,
        "drift_usd": _money(drift),
        "drift_pct": round(drift / drift_base * 100, 2) if drift_base else None,
        "unpriced_runs": sum(1 for a in served if a["actual_cost_usd"] is None),
        "possibly_billed_usd": _money(sum(a["estimated_cost_usd"] or 0.0 for a in attempts if a["possibly_billed"])),
        "cache_hits": len(hits),
        "cache_saved_usd": _money(sum(r.saved_usd for r in hits)),
    }


def group_key(by: str) -> Callable[[LoggedRun], str | None]:
    def provider(run: LoggedRun) -> str | None:
        return run.row["provider"] or (run.attempts[-1]["provider"] if run.attempts else None)

    def model(run: LoggedRun) -> str | None:
        return run.row["model"] or run.row["requested_model"]

    def day(run: LoggedRun) -> str | None:
        return datetime.fromisoformat(run.row["created_at"]).astimezone().date().isoformat()

    def kind(run: LoggedRun) -> str | None:
        return run.row["kind"]

    return {"provider": provider, "model": model, "day": day, "kind": kind}[by]


def grouped(runs: Sequence[LoggedRun], by: str) -> list[dict[str, Any]]:
    """One summary per key, keys in order (days oldest first; `null` last)."""
    key = group_key(by)
    groups: dict[str | None, list[LoggedRun]] = {}
    for run in runs:
        groups.setdefault(key(run), []).append(run)
    order = sorted(groups, key=lambda k: (k is None, k or ""))
    return [{"key": k, **summarise(groups[k])} for k in order]


def budget_windows(now: datetime) -> dict[str, datetime]:
    """The local calendar day and month the budgets count, as UTC starts (as planning does)."""
    local = now.astimezone()
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return {"daily": day.astimezone(timezone.utc), "monthly": day.replace(day=1).astimezone(timezone.utc)}


def budget(spent_since: Callable[[datetime], float], limits: dict[str, float | None],
           now: datetime) -> dict[str, dict[str, float | None]]:
    out = {}
    for label, since in budget_windows(now).items():
        spent = _money(spent_since(since))
        limit = limits.get(label)
        out[label] = {"limit_usd": limit, "spent_usd": spent,
                      "remaining_usd": None if limit is None else _money(limit - spent)}
    return out


def parse_since(text: str, now: datetime) -> datetime:
    """`30m`, `2h`, `1d`, `2w` back from now; a date (`2026-12-01`, local midnight); or an ISO time."""
    from aigw.errors import UsageError

    units = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
    value = text.strip().lower()
    hint = "give an age (30m, 2h, 1d, 2w) or a date (2026-12-01)"
    if value[-1:] in units and value[:-1].isdigit():
        try:
            return now - int(value[:-1]) * units[value[-1]]
        except OverflowError:  # before year 1: a typo, not a crash
            raise UsageError(f"--since {text} is before any date", hint=hint) from None
    # `--json` prints times ending in Z, which fromisoformat reads only from Python 3.11.
    iso = text.strip()[:-1] + "+00:00" if text.strip().endswith(("Z", "z")) else text.strip()
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise UsageError(f"cannot read --since {text}", hint=hint) from None
    return moment.astimezone() if moment.tzinfo is None else moment  # naive: local time, as dates are
