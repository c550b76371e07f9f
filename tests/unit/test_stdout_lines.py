"""A batch's stdout lines: queued inside the event loop, written in order by the timer or at the end."""

from __future__ import annotations

import asyncio
import io

import pytest

from aigw.cli.stdout_lines import StdoutLines


class Pipe(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_outside_an_event_loop_each_line_is_written_at_once() -> None:
    out = Pipe()
    lines = StdoutLines(lambda: out)
    lines.add("a.png\n")
    assert out.getvalue() == "a.png\n"


def test_lines_queued_in_the_loop_are_written_together_in_order_by_the_timer() -> None:
    out = Pipe()
    lines = StdoutLines(lambda: out, every_s=0.01)

    async def main() -> str:
        for name in ("a", "b", "c"):
            lines.add(f"{name}.png\n")
        before = out.getvalue()
        await asyncio.sleep(0.05)
        return before

    assert asyncio.run(main()) == ""
    assert out.getvalue() == "a.png\nb.png\nc.png\n"
    assert out.writes == 1


def test_flush_writes_what_is_queued_and_cancels_the_timer() -> None:
    out = Pipe()
    lines = StdoutLines(lambda: out, every_s=60)

    async def main() -> None:
        lines.add("a.png\n")
        lines.flush()

    asyncio.run(main())
    assert out.getvalue() == "a.png\n"
    lines.flush()
    assert out.writes == 1


def test_a_failed_timed_write_is_raised_by_the_next_add() -> None:
    class Closed(Pipe):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    lines = StdoutLines(lambda: Closed(), every_s=0.001)

    async def main() -> None:
        lines.add("a.png\n")
        await asyncio.sleep(0.02)
        with pytest.raises(BrokenPipeError):
            lines.add("b.png\n")

    asyncio.run(main())
