"""Running aigw as a user would, in-process (fast) or as a subprocess (the real entry point)."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path



@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    stdout_bytes: bytes


class CLI:
    """In-process: stdin, stdout, stderr and the environment swapped for the call, as CliRunner
    would, without depending on which click the installed typer carries."""

    def __call__(self, *args: str, input: str | bytes | None = None, env: dict[str, str] | None = None) -> Result:
        from aigw.cli.main import run

        data = input.encode() if isinstance(input, str) else (input or b"")
        out, err = io.BytesIO(), io.BytesIO()
        streams = (io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"),
                   io.TextIOWrapper(out, encoding="utf-8", write_through=True),
                   io.TextIOWrapper(err, encoding="utf-8", write_through=True))
        saved = (sys.stdin, sys.stdout, sys.stderr)
        saved_env = {k: os.environ.get(k) for k in (env or {})}
        sys.stdin, sys.stdout, sys.stderr = streams
        os.environ.update(env or {})
        code = 0
        try:
            run(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            for stream in streams[1:]:
                try:
                    stream.flush()
                except ValueError:  # closed by aigw itself (BrokenPipe handling)
                    pass
            sys.stdin, sys.stdout, sys.stderr = saved
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        raw = out.getvalue()
        return Result(code, raw.decode("utf-8", errors="replace"), err.getvalue().decode("utf-8", errors="replace"), raw)

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
