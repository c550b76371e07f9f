"""Batch ids read like run ids with a `b` in front (b20261123-213512-123-7f3a9c). Light on purpose:
the CLI reads argv with it before anything heavy is imported."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timezone

BATCH_ID = re.compile(r"^b\d{8}-\d{6}-\d{3}-[0-9a-f]{6}$")


def new_batch_id(now: datetime) -> str:
    utc = now.astimezone(timezone.utc)
    return f"b{utc:%Y%m%d-%H%M%S}-{utc.microsecond // 1000:03d}-{secrets.token_hex(3)}"
