"""Running aigw as a user would, in-process (fast) or as a subprocess (the real entry point)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes


class CLI:
    def __call__(self, *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
        import click

        from aigw.cli.main import run

        @click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
        @click.pass_context
        def entry(ctx: click.Context) -> None:
            run(list(args))

        result = CliRunner().invoke(entry, [], input=input, env=env, catch_exceptions=False)
        return Result(result.exit_code, result.stdout, result.stderr, result.stdout_bytes)

    def subprocess(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
                   timeout: float = 120) -> Result:
        full_env = {**os.environ, **(env or {})}
        proc = subprocess.run([sys.executable, "-m", "aigw", *args], input=input, env=full_env,
                              capture_output=True, timeout=timeout)
        return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode(), proc.stdout)


def db_rows(cache_dir: Path, sql: str, *params: object) -> list[sqlite3.Row]:
    conn = sqlite3.connect(cache_dir / "aigw.db")
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()
