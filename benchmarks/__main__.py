"""`python -m benchmarks`: the overhead figures of issue 10 item 5 (see benchmarks/targets.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.targets import main  # noqa: E402

raise SystemExit(main())
