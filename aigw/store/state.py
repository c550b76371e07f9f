"""Routing state shared by every aigw process through aigw.db: circuit breakers, rate-limit slots,
round-robin counters and recent latencies. Each read-modify-write runs in one IMMEDIATE transaction,
so concurrent processes see each other's decisions."""

from __future__ import annotations

import os
import sqlite3
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aigw.redact import redact
from aigw.store import owner

WINDOW_S = 60.0  # rpm is counted over a sliding minute


@dataclass(frozen=True)
class Circuit:
    provider: str
    failures: int
    open_until: float | None  # unix time; None when closed
    last_error: str | None = None


class SQLiteRoutingState:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        if self.conn.in_transaction:  # inside a run's group commit: already serialised
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # ---- circuit breakers ---------------------------------------------------------------------

    def circuit(self, provider: str) -> Circuit:
        row = self.conn.execute(
            "SELECT failures, open_until, last_error FROM circuits WHERE provider = ?", (provider,)
        ).fetchone()
        if row is None:
            return Circuit(provider, 0, None)
        return Circuit(provider, row[0], row[1], row[2])

    def circuits(self) -> list[Circuit]:
        rows = self.conn.execute("SELECT provider, failures, open_until, last_error FROM circuits").fetchall()
        return [Circuit(*row) for row in rows]

    def claim_trial(self, provider: str, *, now: float, cooldown: float) -> bool:
        """Half-open: let exactly one process try a provider whose cooldown has ended."""
        with self._tx() as tx:
            row = tx.execute("SELECT open_until FROM circuits WHERE provider = ?", (provider,)).fetchone()
            if row is None or row[0] is None:
                return True
            if row[0] > now:
                return False
            tx.execute("UPDATE circuits SET open_until = ? WHERE provider = ?", (now + cooldown, provider))
            return True

    def forget(self, provider: str) -> Circuit | None:
        """Drop what the circuit counted against a provider (its key was replaced); returns it, or
        None when there was nothing to forget."""
        with self._tx() as tx:
            row = tx.execute("SELECT failures, open_until, last_error FROM circuits WHERE provider = ?",
                             (provider,)).fetchone()
            tx.execute("DELETE FROM circuits WHERE provider = ?", (provider,))
        return Circuit(provider, row[0], row[1], row[2]) if row else None

    def record_success(self, provider: str) -> None:
        with self._tx() as tx:
            tx.execute("DELETE FROM circuits WHERE provider = ?", (provider,))

    def record_failure(self, provider: str, *, now: float, threshold: int, cooldown: float, open_now: bool,
                       error: str) -> Circuit:
        with self._tx() as tx:
            row = tx.execute("SELECT failures, open_until FROM circuits WHERE provider = ?", (provider,)).fetchone()
            failures = (row[0] if row else 0) + 1
            was_open = row is not None and row[1] is not None
            open_until = now + cooldown if (open_now or failures >= threshold or was_open) else None
            tx.execute(
                "INSERT INTO circuits (provider, failures, opened_at, open_until, last_error) VALUES (?,?,?,?,?)"
                " ON CONFLICT(provider) DO UPDATE SET failures=excluded.failures, opened_at=excluded.opened_at,"
                " open_until=excluded.open_until, last_error=excluded.last_error",
                (provider, failures, now if open_until else None, open_until, redact(error)[:300]),
            )
        return Circuit(provider, failures, open_until, error)

    # ---- rate limits ---------------------------------------------------------------------------

    def try_acquire(self, provider: str, *, now: float, rpm: int | None, max_concurrency: int | None,
                    hold_s: float, pid: int) -> tuple[int | None, float]:
        """(slot id, 0) when a request may go now, else (None, seconds to wait before asking again).

        A request counts against `rpm` until a minute after it *ended*, not after it was let through:
        the provider sees it some time after we send it, and only the end bounds that time, so no
        60-second window at the provider can hold more than `rpm` requests however slow we are.

        A slot held by a process that has died is released now: its concurrency is free at once, and
        for `rpm` it still counts as a request that was sent (it may have reached the provider), until
        a minute after its death was noticed."""
        with self._tx() as tx:
            tx.execute("DELETE FROM rate_slots WHERE COALESCE(released_at, expires_at) < ?", (now - WINDOW_S,))
            self._release_dead(tx, provider, now=now)
            rows = tx.execute(
                "SELECT released_at, expires_at FROM rate_slots WHERE provider = ?", (provider,)
            ).fetchall()
            in_flight = [exp for rel, exp in rows if rel is None and exp > now]
            if max_concurrency is not None and len(in_flight) >= max_concurrency:
                return None, min(0.05, max(min(in_flight) - now, 0.01))
            if rpm is not None and len(rows) >= rpm:
                ended = sorted(rel if rel is not None else exp for rel, exp in rows if rel is not None or exp <= now)
                needed = len(rows) - rpm + 1  # slots that must leave the window first
                if needed > len(ended):
                    return None, 0.25  # what must leave is still in flight: ask again soon
                return None, max(ended[needed - 1] + WINDOW_S - now, 0.01)
            cur = tx.execute(
                "INSERT INTO rate_slots (provider, pid, started_at, expires_at, owner) VALUES (?, ?, ?, ?, ?)",
                (provider, pid, now, now + hold_s, owner.current() if pid == os.getpid() else owner.token_of(pid)),
            )
            return int(cur.lastrowid or 0), 0.0

    @staticmethod
    def _release_dead(tx: sqlite3.Connection, provider: str, *, now: float) -> None:
        """Release the in-flight slots of processes that are gone (killed while holding them)."""
        held = tx.execute(
            "SELECT DISTINCT owner FROM rate_slots WHERE provider = ? AND released_at IS NULL AND expires_at > ?"
            " AND owner IS NOT NULL", (provider, now),
        ).fetchall()
        for (token,) in held:
            if not owner.alive(token):
                tx.execute("UPDATE rate_slots SET released_at = ? WHERE owner = ? AND released_at IS NULL",
                           (now, token))

    def release(self, slot: int, *, now: float) -> None:
        self.conn.execute("UPDATE rate_slots SET released_at = ? WHERE id = ?", (now, slot))

    # ---- strategies ----------------------------------------------------------------------------

    def next_turn(self, key: str, *, advance: bool = True) -> int:
        """A counter shared by all processes: round-robin turns for one model. `advance=False`
        (a dry run) says which turn would come next without taking it."""
        if not advance:
            row = self.conn.execute("SELECT value FROM routing_counters WHERE key = ?", (key,)).fetchone()
            return 0 if row is None else int(row[0]) + 1
        with self._tx() as tx:
            tx.execute("INSERT INTO routing_counters (key, value) VALUES (?, 0)"
                       " ON CONFLICT(key) DO UPDATE SET value = value + 1", (key,))
            return int(tx.execute("SELECT value FROM routing_counters WHERE key = ?", (key,)).fetchone()[0])

    def median_latency_ms(self, provider: str, provider_model: str, *, recent: int = 20) -> float | None:
        rows = self.conn.execute(
            "SELECT latency_ms FROM attempts WHERE provider = ? AND provider_model = ? AND served = 1"
            " ORDER BY started_at DESC LIMIT ?", (provider, provider_model, recent),
        ).fetchall()
        return statistics.median(r[0] for r in rows) if rows else None
