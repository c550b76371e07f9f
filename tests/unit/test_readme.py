"""README.md and .ci/run must agree on the one test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def ci_command() -> str:
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    marker = next(i for i, line in enumerate(lines) if "The one test command" in line)
    return lines[marker + 1].strip()


def test_ci_runs_exactly_the_test_command_the_readme_gives():
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", quick_start, flags=re.S)
    assert blocks[1].strip() == ci_command()


def test_the_readme_first_command_transcribes_the_committed_sample():
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1]
    first = re.findall(r"```sh\n(.*?)```", quick_start, flags=re.S)[0].strip()
    assert first == "pip install '.[local]' && aigw transcribe examples/hello.wav"
    assert (ROOT / "examples" / "hello.wav").is_file()
