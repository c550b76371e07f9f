"""What a killed aigw leaves behind, cleaned up by the next one that opens the run log.

A process killed outright (kill -9, a crash, SIGTERM before it could react) leaves its run `running`,
its rate-limit slots held, and maybe a spooled stdin file or a half-written `.part` file. At open:

- runs: one query on the partial index `runs_running`; each owner is checked (store/owner.py) and a
  dead one's run becomes `interrupted`. Costs a few microseconds when nothing is running.
- spooled stdin (`<cache>/tmp/stdin-<pid>-<start>-*`): the spool directory is read at every open; it
  holds only the spools of live transcriptions, so it is empty or nearly so, and a process killed
  while spooling (before its run was logged) leaves no run to find it by. Likewise the private
  directories of a long recording's chunk files (`<cache>/tmp/chunks-<pid>-<start>-*`).
- `.part` files (`.<name>.<pid>.part`) in today's and yesterday's results directories (a run begun
  before midnight writes into the day it began), scanned at every open because a writer killed
  between the commit of a paid result and its rename (aigw/engine/keeper.py) leaves a run that is
  already `ok`: such a file, complete and known to the log by path and sha256, is renamed into
  place; any other `.part` of a dead pid is debris and removed. One directory listing per day.
Rate-limit slots are reclaimed where they are counted (store/state.py), by the same owner check.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

from aigw.store import owner

SPOOL_DIR = "tmp"
_PART = re.compile(r"^\..+\.(\d+)\.part$")


def stale_runs(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Mark the runs of dead processes interrupted; return (run id, owner token) of each."""
    rows = conn.execute("SELECT id, owner FROM runs WHERE status = 'running' AND owner IS NOT NULL").fetchall()
    dead = [(rid, tok) for rid, tok in rows if not owner.alive(tok)]
    for rid, tok in dead:
        pid = tok.split(":", 1)[0]
        conn.execute("UPDATE runs SET status = 'interrupted', error = ? WHERE id = ? AND status = 'running'",
                     (f"interrupted: aigw process {pid} ended without finishing the run (killed?)", rid))
    return dead


def remove_spools(cache_dir: Path) -> None:
    """Spooled stdin files and chunk directories whose process is gone."""
    try:
        entries = list(os.scandir(cache_dir / SPOOL_DIR))
    except OSError:
        return
    for entry in entries:
        parts = entry.name.split("-")
        if len(parts) >= 3 and parts[0] in ("stdin", "chunks") and not owner.tag_alive(f"{parts[1]}-{parts[2]}"):
            if parts[0] == "chunks" and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            elif parts[0] == "stdin":
                _unlink(Path(entry.path))


def settle_parts(conn: sqlite3.Connection, cache_dir: Path, today: date) -> None:
    """`.<name>.<pid>.part` files of dead pids in today's and yesterday's results: finished (the log
    has the file with this content) or removed."""
    for day in (today, today - timedelta(days=1)):
        try:
            entries = list(os.scandir(cache_dir / "results" / f"{day:%Y-%m-%d}"))
        except OSError:
            continue
        for entry in entries:
            m = _PART.match(entry.name)
            if not m or owner.token_of(int(m.group(1))) is not None:
                continue
            part = Path(entry.path)
            final = part.with_name(entry.name[1:-len(f".{m.group(1)}.part")])
            if _known(conn, final, part) and not final.exists():
                try:
                    os.replace(part, final)
                    continue
                except OSError:
                    pass
            _unlink(part)


def _known(conn: sqlite3.Connection, final: Path, part: Path) -> bool:
    row = conn.execute("SELECT sha256 FROM files WHERE path = ?", (str(final),)).fetchone()
    if row is None:
        return False
    try:
        return hashlib.sha256(part.read_bytes()).hexdigest() == row[0]
    except OSError:
        return False


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:  # another aigw removed it first, or it is not ours to remove
        pass


def recover(conn: sqlite3.Connection, cache_dir: Path) -> list[str]:
    """Run at open: returns the ids of the runs found left behind."""
    dead = stale_runs(conn)
    remove_spools(cache_dir)
    settle_parts(conn, cache_dir, date.today())
    return [rid for rid, _ in dead]
