"""A batch's cost limits, checked once against the whole batch before anything is sent: --max-cost
against the total estimate, and the daily and monthly budgets against what the log says was spent
plus that total. Each run still checks the budgets for itself as it starts (engine/planning.py)."""

from __future__ import annotations

from datetime import timezone
from typing import Any

from aigw import errors
from aigw.catalog.pricing import format_usd, usd_text


def check(*, total: float, unpriced: int, max_cost: float | None, allow_unpriced: bool, budget: Any,
          spent_since: Any, now: Any) -> None:
    """Raise BudgetExceededError (exit 6) when the batch may not start."""
    limited = max_cost is not None or budget.daily_usd is not None or budget.monthly_usd is not None
    if limited and unpriced and not allow_unpriced:
        raise errors.BudgetExceededError(
            f"{unpriced} item(s) of the batch have no known price, and a cost limit is set",
            hint="pass --allow-unpriced to run models with no known price under --max-cost or a budget")
    if max_cost is not None and total > max_cost:
        raise errors.BudgetExceededError(f"the batch's estimated {format_usd(total)} is over --max-cost ${max_cost:g}",
                                         hint="raise --max-cost, or run fewer items")
    local = now.astimezone()  # budgets count local calendar days and months, as result folders do
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    for label, limit, since in (("daily", budget.daily_usd, day), ("monthly", budget.monthly_usd, day.replace(day=1))):
        if limit is None or total <= 0:  # nothing to spend (cached results): each item is checked as it starts
            continue
        spent = spent_since(since.astimezone(timezone.utc))
        if spent + total > limit:
            raise errors.BudgetExceededError(
                f"the {label} budget of ${limit:g} would be exceeded: spent {usd_text(spent)}, "
                f"this batch ~{format_usd(total)}",
                hint=f"raise budget.{label}_usd with 'aigw config set budget.{label}_usd N', or run fewer items")
