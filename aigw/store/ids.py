"""Run ids that sort by time and read like one: 20261123-213512-123-7f3a9c."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone


def new_run_id(now: datetime) -> str:
    utc = now.astimezone(timezone.utc)
    return f"{utc:%Y%m%d-%H%M%S}-{utc.microsecond // 1000:03d}-{secrets.token_hex(3)}"
