"""9.7: escape sequences and control characters from upstream bodies, from transcripts shown on a
terminal, and from the user's own arguments reach stderr/the terminal only in printable form."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from tests.fakes.hostile import ESCAPES
from tests.hostile.conftest import KEY_ENV, assert_one_error, configure

VISIBLE = "\\x1b]0;pwned\\x07\\x1b[2J"


def test_an_upstream_error_body_is_one_printable_line(cli, config_file, hostile):
    hostile.mode = "echo-500-text"
    configure(config_file, hostile, extra="[routing]\nretries = 0")
    r = cli.subprocess("generate", "a cat", "-m", "gpt-image-2", env=KEY_ENV)
    assert_one_error(r, 4)
    assert "\x1b" not in r.stderr and "\x07" not in r.stderr
    assert VISIBLE in r.stderr and "second line third line" in r.stderr


def test_a_users_own_value_is_echoed_in_printable_form(cli):
    r = cli("generate", "a cat", "-m", "gpt\x1b[2Jimage")
    assert_one_error(r, 2)
    assert "\x1b" not in r.stderr and "gpt\\x1b[2Jimage" in r.stderr, r.stderr


def test_a_transcript_is_neutralised_on_a_terminal_and_unchanged_in_a_pipe(cli, config_file, hostile, speech_wav):
    hostile.mode = "escape-transcript"
    configure(config_file, hostile)
    piped = cli("transcribe", str(speech_wav), "-m", "whisper-1", env=KEY_ENV)
    assert piped.code == 0, piped.stderr
    assert piped.stdout == f"hello {ESCAPES} world\n"

    leader, follower = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "aigw", "transcribe", str(speech_wav), "-m", "whisper-1"],
                          stdout=follower, stderr=subprocess.PIPE, env={**os.environ, **KEY_ENV}, timeout=60)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the terminal's other end is closed and drained
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.returncode == 0, proc.stderr
    assert b"\x1b" not in shown and VISIBLE.encode() in shown, shown


def test_a_bad_option_is_echoed_in_printable_form(cli):
    r = cli("generate", "a cat", "--\x1b]0;pwned\x07")
    assert r.code == 2
    assert "\x1b" not in r.stderr and "\\x1b]0;pwned\\x07" in r.stderr, r.stderr
