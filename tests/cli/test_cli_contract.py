"""The command line's small promises: usage errors, global flags, help text, config edits that
survive concurrency, keys kept private without touching directories aigw does not own, and
credentials in settings other than api_key masked and refused on the command line.

Black-box: the CLI in-process or through the installed entry point (`cli.subprocess`)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "s3cretPassw0rd"
TOKEN = "sk-proj-abcdefghijklmnopqrstuvwxyz012345"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# ---- usage errors: help on stderr, nothing on stdout, exit 2 --------------------------------


@pytest.mark.parametrize("args", [(), ("transcribe",), ("config",), ("config", "keys")])
def test_no_arguments_prints_help_on_stderr_and_exits_2(cli, args):
    # A bare `aigw` runs as the installed entry point (stdout and stderr as separate pipes, the exit
    # code seen from outside); the subcommands in-process.
    r = cli.subprocess(*args) if not args else cli(*args)
    assert r.code == 2
    assert r.stdout == ""
    assert "Usage: aigw" in r.stderr


def test_a_bad_flag_is_usage_on_stderr_exit_2(cli):
    r = cli.subprocess("generate", "x", "--no-such-flag")
    assert (r.code, r.stdout) == (2, "")
    assert "--no-such-flag" in r.stderr and "Usage:" in r.stderr


@pytest.mark.parametrize("command", [("config", "get", "routing.retrys"), ("config", "set", "routing.retrys", "3"),
                                     ("config", "get", "nosuch.thing")])
def test_an_unknown_setting_is_exit_3_as_readme_says(cli, command):
    r = cli(*command)
    assert (r.code, r.stdout) == (3, "")
    assert "unknown setting" in r.stderr


# ---- global flags after the subcommand ------------------------------------------------------


def test_quiet_after_the_subcommand(cli, config_file):
    r = cli("config", "set", "routing.retries", "3", "-q")
    assert r.code == 0, r.stderr
    assert r.stderr == ""
    assert "retries = 3" in config_file.read_text()
    loud = cli("config", "set", "routing.retries", "4")
    assert "routing.retries = 4" in loud.stderr


def test_verbose_after_the_subcommand(cli):
    r = cli("generate", "a cat", "-m", "no-such-model", "-v")
    assert r.code == 2
    assert "Traceback" in r.stderr


def test_a_value_that_looks_like_a_global_flag_stays_a_value(cli):
    r = cli("generate", "--negative-prompt", "-q", "a cat", "-m", "no-such-model")
    assert r.code == 2
    assert "no-such-model" in r.stderr  # -q was the option's value, so the error is still shown


# ---- help text ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("generate",), ("transcribe",), ("config", "set"), ("bench",), ("models",),
                                     ("logs",), ("stats",)])
def test_help_names_values_without_type_metavars(cli, command):
    r = cli(*command, "--help")
    assert r.code == 0
    for noise in ("<bool>", "<str>", "<int", "<float", "<list", "<path>"):
        assert noise not in r.stdout, noise
    assert "--n " not in r.stdout


def test_generate_help_keeps_n_and_names_option_values(cli):
    out = cli("generate", "--help").stdout
    assert " -n " in out and "MODEL" in out


# ---- config set / get / unset ---------------------------------------------------------------


def test_set_echoes_the_value_as_stored(cli):
    r = cli("config", "set", "providers.OpenAI.timeout", "30")
    assert r.code == 0, r.stderr
    assert "providers.openai.timeout = 30.0 in " in r.stderr
    assert cli("config", "get", "providers.openai.timeout").stdout == "30.0\n"


def test_set_warns_when_another_source_overrides_it(cli):
    r = cli("config", "set", "routing.retries", "3", env={"AIGW_ROUTING__RETRIES": "5"})
    assert r.code == 0
    assert "routing.retries = 3 in " in r.stderr and "AIGW_ROUTING__RETRIES" in r.stderr


def test_unset_leaves_no_empty_tables(cli, config_file):
    assert cli("config", "set", "routing.breaker.failures", "3").code == 0
    assert cli("config", "set", "routing.fallbacks.dall-e-3", '["flux-schnell"]').code == 0
    assert cli("config", "set", "defaults.image_model", "flux-dev").code == 0
    assert cli("config", "unset", "routing.breaker.failures").code == 0
    assert cli("config", "unset", "routing.fallbacks.dall-e-3").code == 0
    text = config_file.read_text()
    assert "[routing" not in text and "breaker" not in text and "fallbacks" not in text
    assert text == '[defaults]\nimage_model = "flux-dev"\n'


def test_get_of_a_section_prints_key_tab_value_lines(cli):
    r = cli("config", "get", "routing.breaker")
    assert r.stdout.splitlines() == ["routing.breaker.cooldown\t60.0", "routing.breaker.failures\t5"]


# ---- concurrent edits -----------------------------------------------------------------------


def _spawn(*args: str, stdin: bytes = b"") -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "aigw", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(stdin)
    proc.stdin.close()
    return proc


def test_nine_parallel_keys_set_keep_nine_keys(cli, config_file):
    providers = ["openai", "groq", "fal", "replicate", "runpod", "together", "stability", "deepgram", "azure"]
    procs = [_spawn("config", "keys", "set", name, stdin=f"key-{name}-0123456789abcdef\n".encode())
             for name in providers]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    listed = cli("config", "keys", "list").stdout.splitlines()
    assert sorted(line.split("\t")[0] for line in listed) == sorted(providers)
    keys_toml = config_file.parent / "keys.toml"
    assert all(f"key-{name}-0123456789abcdef" in keys_toml.read_text() for name in providers)
    assert mode(keys_toml) == 0o600 and mode(config_file.parent) == 0o700
    assert sorted(p.name for p in config_file.parent.iterdir()) == ["keys.toml"]  # no temporary or lock file


def test_parallel_config_sets_keep_every_setting(cli, config_file):
    settings = {"routing.retries": "4", "routing.deadline": "30", "budget.daily_usd": "5", "budget.monthly_usd": "50",
                "defaults.image_model": "flux-dev", "defaults.audio_model": "whisper-1",
                "routing.breaker.failures": "3", "providers.openai.timeout": "60"}
    procs = [_spawn("config", "set", key, value) for key, value in settings.items()]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    for key in settings:
        assert cli("config", "get", key).stdout.strip() != "", key


# ---- where keys are kept ---------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_keys_never_chmod_a_shared_config_directory(cli, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    (shared / "someone-elses-file").write_text("x")
    monkeypatch.setenv("AIGW_CONFIG", str(shared / "config.toml"))
    r = cli("config", "keys", "set", "openai", input=b"sk-shared-0123456789abcdef\n")
    assert r.code == 0, r.stderr
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    keys = shared / "aigw-keys" / "keys.toml"
    assert mode(keys) == 0o600 and mode(keys.parent) == 0o700
    assert str(keys) in r.stderr
    assert cli("config", "path").stdout.splitlines()[1] == str(keys)
    shown = cli("config", "show", "--json").stdout
    assert f"keys file {keys}" in shown


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_keys_never_chmod_a_directory_holding_other_files(cli, tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    project.chmod(0o775)
    (project / "Makefile").write_text("all:\n")
    monkeypatch.setenv("AIGW_CONFIG", str(project / "config.toml"))
    assert cli("config", "keys", "set", "groq", input="gsk-0123456789abcdef0123\n").code == 0
    assert mode(project) == 0o775
    assert (project / "aigw-keys" / "keys.toml").exists()


# ---- credentials in other settings -----------------------------------------------------------


@pytest.mark.parametrize(("key", "value"), [
    ("providers.openai.base_url", f"https://user:{SECRET}@gw.example/v1"),
    ("providers.openai.base_url", f"https://gw.example/v1?api_key={SECRET}"),
    ("providers.openai.base_url", f"https://gw.example/v1?key={SECRET}"),
    ("providers.openai.headers.Authorization", f"Bearer {SECRET}"),
    ("providers.openai.headers.X-Api-Key", SECRET),
    ("providers.openai.headers.x-session-token", SECRET),
    ("providers.openai.headers.x-custom", TOKEN),
    ("providers.openai.headers", f'{{ "cf-aig-authorization" = "Bearer {SECRET}" }}'),
    ("providers.openai", f'{{ base_url = "https://u:{SECRET}@gw.example" }}'),
])
def test_config_set_refuses_credentials_on_the_command_line(cli, config_file, key, value):
    r = cli("config", "set", key, value)
    assert r.code == 2
    assert SECRET not in r.stderr and TOKEN not in r.stderr and r.stdout == ""
    assert "aigw config keys set" in r.stderr or "AIGW_PROVIDERS__OPENAI__" in r.stderr
    assert not config_file.exists()


def test_credentials_in_config_are_masked_in_show_get_and_errors(cli, config_file):
    config_file.parent.mkdir(parents=True)
    config_file.write_text(
        '[providers.gw]\ntype = "openai"\n'
        f'base_url = "https://bob:{SECRET}@gw.example/v1?token={SECRET}&region=eu"\n'
        f'headers = {{ "X-Api-Key" = "{SECRET}", "x-custom" = "{TOKEN}", "x-team" = "blue" }}\n')
    outputs = [cli("config", "show"), cli("config", "show", "--json"), cli("config", "get", "providers.gw"),
               cli("config", "get", "providers.gw.base_url"), cli("config", "get", "providers.gw.headers"),
               cli("config", "get", "providers.gw.headers.x-custom")]
    for r in outputs:
        assert r.code == 0, r.stderr
        assert SECRET not in r.stdout + r.stderr and TOKEN not in r.stdout + r.stderr
    assert "gw.example" in outputs[3].stdout and "region=eu" in outputs[3].stdout
    assert "blue" in outputs[4].stdout
    config_file.write_text(f'[providers.gw]\ntype = "openai"\ntimeout = "https://bob:{SECRET}@gw.example"\n')
    broken = cli("config", "show")
    assert broken.code == 3 and "providers.gw.timeout" in broken.stderr
    assert SECRET not in broken.stderr


@pytest.mark.parametrize(("command", "sentence", "example"), [
    ("generate", "Every image is also kept under the cache directory's results/.", '   aigw generate "a cat"'),
    ("transcribe", "the transcription runs on this machine (faster-whisper).", "   aigw transcribe talk.mp3"),
    ("models", "Configured providers are marked *, retired ones", "   aigw models --check"),
    ("bench", "one provider at a time (no failover), and reports", "   aigw bench -m whisper-tiny.en"),
])
def test_help_prose_wraps_to_the_terminal_and_examples_stay_indented(cli, command, sentence, example):
    # The source's line breaks used to show as breaks mid-sentence ("kept\nunder the cache\ndirectory's").
    r = cli(command, "--help", env={"COLUMNS": "200"})
    assert r.code == 0
    lines = r.stdout.splitlines()
    assert any(sentence in line for line in lines), r.stdout
    assert any(line.startswith(example) for line in lines), r.stdout


@pytest.mark.parametrize(("words", "cword", "expected"), [
    ("aigw gen", "1", "generate"),
    ("aigw config ke", "2", "keys"),
    ("aigw transcribe --for", "2", "--format"),
])
def test_the_completion_aigw_install_completion_installs_answers_on_stdout(cli, words, cword, expected):
    # The installed bash function runs aigw with no arguments and _AIGW_COMPLETE set: that is not
    # the usage error of a bare `aigw` (help on stderr, exit 2), which left completion empty.
    r = cli.subprocess(env={"_AIGW_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword})
    assert r.code == 0, r.stderr
    assert expected in r.stdout.split(), r.stdout
