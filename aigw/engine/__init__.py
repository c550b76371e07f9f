"""One engine for every run: see aigw/engine/core.py (the object) and aigw/engine/run.py (what
happens to a request)."""

from aigw.engine.core import Engine, Request, open_engine
from aigw.engine.planning import Plan, Planned, RunOptions
from aigw.engine.run import Served

__all__ = ["Engine", "Plan", "Planned", "Request", "RunOptions", "Served", "open_engine"]
