"""`aigw stats` for a person: a few summary lines, then one aligned row per group (no tabs)."""

from __future__ import annotations

from typing import Any

from aigw.cli.log_view import money, seconds, when


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _drift(m: dict[str, Any]) -> str:
    sign = "+" if m["drift_usd"] >= 0 else "-"
    pct = f" ({m['drift_pct']:+.1f}%)" if m["drift_pct"] is not None else ""
    return f"{sign}{money(abs(m['drift_usd'])) if m['drift_usd'] else '$0'}{pct}"


def summary(m: dict[str, Any]) -> list[str]:
    later = f" ({m['served_by_later_hop']} served by a later hop)" if m["served_by_later_hop"] else ""
    unpriced = f" · {m['unpriced_runs']} of unknown cost" if m["unpriced_runs"] else ""
    billed = f" · possibly billed {money(m['possibly_billed_usd'])}" if m["possibly_billed_usd"] else ""
    return [
        f"requests {m['requests']} · ok {m['ok']} ({_pct(m['success_rate'])}) · failed {m['failed']} · "
        f"attempts {m['attempts']} · failovers {m['failovers']}{later}",
        f"latency  p50 {seconds(m['latency_p50_ms'])} · p95 {seconds(m['latency_p95_ms'])}",
        f"cost     {money(m['cost_usd'])} actual · {money(m['estimated_cost_usd'])} estimated · drift {_drift(m)}"
        f" · average {money(m['avg_cost_usd'])} per run{unpriced}{billed}",
        f"cache    {m['cache_hits']} hit(s), saved {money(m['cache_saved_usd'])}",
    ]


def _budget(report: dict[str, Any]) -> str:
    parts = []
    for label, name in (("daily", "today"), ("monthly", "this month")):
        b = report["budget"][label]
        if b["limit_usd"] is None:
            parts.append(f"{name} {money(b['spent_usd'])} (no budget)")
        else:
            parts.append(f"{name} {money(b['spent_usd'])} of ${b['limit_usd']:g} ({money(b['remaining_usd'])} left)"
                         if b["remaining_usd"] >= 0 else
                         f"{name} {money(b['spent_usd'])} of ${b['limit_usd']:g} (over)")
    return "budget   " + " · ".join(parts)


COLUMNS = (("requests", lambda g: str(g["requests"])), ("ok", lambda g: _pct(g["success_rate"])),
           ("failovers", lambda g: str(g["failovers"])), ("p50", lambda g: seconds(g["latency_p50_ms"])),
           ("p95", lambda g: seconds(g["latency_p95_ms"])), ("cost", lambda g: money(g["cost_usd"])),
           ("estimated", lambda g: money(g["estimated_cost_usd"])), ("cache hits", lambda g: str(g["cache_hits"])))


def lines(report: dict[str, Any]) -> list[str]:
    since = f"since {when(report['since'])}" if report["since"] else "all runs"
    out = [f"{since} (until {when(report['until'])})", *summary(report["totals"]), _budget(report)]
    if report["by"] and report["groups"]:
        rows = [[report["by"], *(name for name, _ in COLUMNS)]]
        rows += [[str(g["key"]) if g["key"] is not None else "-", *(cell(g) for _, cell in COLUMNS)]
                 for g in report["groups"]]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        out.append("")
        out += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
                for r in rows]
    return out
