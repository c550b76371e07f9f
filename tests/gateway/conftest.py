"""A real LiteLLM proxy (``pip install 'litellm[proxy]'``) on loopback, in front of a FakeOpenAI.

Run with ``python -m pytest -m gateway tests/gateway -q``. The proxy runs with no network: the
model cost map is read from the copy inside the package, telemetry is off, no database, no Redis,
and it only ever talks to the FakeOpenAI on 127.0.0.1. Its process group is killed at the end.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fakes.openai import FakeOpenAI

MASTER_KEY = "sk-master"
UPSTREAM_KEY = "up-key"
READY_TIMEOUT_S = 120.0
MODELS = ("gpt-image-2", "dall-e-3", "whisper-1")

# Nothing in the proxy's environment may reach beyond 127.0.0.1 or pick up the machine's settings.
PROXY_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no fetch of model_prices_and_context_window.json
    "LITELLM_TELEMETRY": "False",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",
    "LITELLM_MODE": "PRODUCTION",  # no .env loading
    "DISABLE_ADMIN_UI": "True",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}
DROPPED_ENV = ("DATABASE_URL", "REDIS_HOST", "REDIS_URL", "REDIS_PORT", "LITELLM_MASTER_KEY", "HTTP_PROXY", "HTTPS_PROXY",
               "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy", "OPENAI_API_KEY", "OPENAI_BASE_URL")


@dataclass
class Proxy:
    url: str  # http://127.0.0.1:PORT
    upstream: FakeOpenAI
    log: Path

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def litellm_command() -> list[str]:
    script = Path(sys.executable).parent / "litellm"
    if script.exists():
        return [str(script)]
    found = shutil.which("litellm")
    if found:
        return [found]
    return [sys.executable, "-c", "from litellm.proxy.proxy_cli import run_server; run_server()"]


def proxy_config(upstream: FakeOpenAI) -> str:
    entries = "".join(
        f"  - model_name: {name}\n"
        "    litellm_params:\n"
        f"      model: openai/{name}\n"
        f"      api_base: {upstream.base_url}\n"
        f"      api_key: {UPSTREAM_KEY}\n"
        "      timeout: 20\n"
        for name in MODELS
    )
    return (
        f"model_list:\n{entries}"
        f"general_settings:\n  master_key: {MASTER_KEY}\n"
        "litellm_settings:\n  telemetry: false\n  num_retries: 0\n  request_timeout: 20\n"
        # Cooldowns would make one test's failures answer the next test's requests.
        "router_settings:\n  num_retries: 0\n  disable_cooldowns: true\n"
    )


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"litellm exited with {proc.returncode} before it was ready "
                        f"(is the proxy extra installed? pip install 'litellm[proxy]'):\n{log.read_text(errors='replace')[-4000:]}")
        try:
            if httpx.get(url + "/health/liveliness", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"litellm was not ready after {READY_TIMEOUT_S:g} s:\n{log.read_text(errors='replace')[-4000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End the process group this fixture started (uvicorn and any worker it forked)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    if importlib.util.find_spec("litellm") is None:
        pytest.skip("litellm is not installed: pip install 'litellm[proxy]' to run the real-gateway tests")
    workdir = tmp_path_factory.mktemp("litellm")
    with FakeOpenAI(api_key=UPSTREAM_KEY, serve_retired=True) as upstream:
        config = workdir / "litellm.yaml"
        config.write_text(proxy_config(upstream))
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV and not k.startswith("AIGW_")}
        env.update(PROXY_ENV, HOME=str(workdir))
        log = workdir / "litellm.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [*litellm_command(), "--config", str(config), "--port", str(port), "--host", "127.0.0.1"],
                cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(proc, url, log)
            yield Proxy(url, upstream, log)
        finally:
            stop(proc)
        assert not upstream.errors


@pytest.fixture
def litellm(proxy: Proxy, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proxy]:
    """aigw configured with the proxy as an OpenAI-compatible provider holding the master key."""
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(
        "[routing]\nretries = 0\n\n"  # one request per run: the proxy already retries the upstream
        f'[providers.litellm]\ntype = "openai"\nbase_url = "{proxy.base_url}"\ntimeout = 60\n'
        f"models = {list(MODELS)!r}\n".replace("'", '"')
    )
    monkeypatch.setenv("AIGW_PROVIDERS__LITELLM__API_KEY", MASTER_KEY)
    proxy.upstream.clear_faults()
    proxy.upstream.clear_log()
    yield proxy
    proxy.upstream.clear_faults()
