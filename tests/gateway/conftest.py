"""Real gateway products on loopback, each in front of FakeOpenAI servers.

* LiteLLM's proxy (``litellm[proxy]``), which runs with no network: the model cost map is read from
  the copy inside the package, telemetry is off, no database, no Redis.
* Portkey's open-source gateway (npm ``@portkey-ai/gateway``), run with node from the install dir.

``bash tests/gateway/install.sh`` installs both; then ``python -m pytest -m gateway tests/gateway -q``.
A product that is not installed is skipped, unless ``GATEWAY_TESTS_REQUIRED=1`` (CI) makes that a
failure. Each only ever talks to the fakes on 127.0.0.1; its process group is killed at the end.
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
from typing import NoReturn

import httpx
import pytest

from tests.fakes.openai import FakeOpenAI
from tests.recipes import as_toml, recipes

HERE = Path(__file__).resolve().parent
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


def not_installed(what: str) -> NoReturn:
    """Skip, or fail where the products must be there (CI sets GATEWAY_TESTS_REQUIRED=1)."""
    message = f"{what} is not installed: bash tests/gateway/install.sh to run the real-gateway tests"
    if os.environ.get("GATEWAY_TESTS_REQUIRED") == "1":
        pytest.fail(message)
    pytest.skip(message)


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, name: str = "litellm") -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{name} exited with {proc.returncode} before it was ready "
                        f"(installed? bash tests/gateway/install.sh):\n{log.read_text(errors='replace')[-4000:]}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"{name} was not ready after {READY_TIMEOUT_S:g} s:\n{log.read_text(errors='replace')[-4000:]}")


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
        not_installed("litellm[proxy]")
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
            wait_ready(proc, url + "/health/liveliness", log)
            yield Proxy(url, upstream, log)
        finally:
            stop(proc)
        assert not upstream.errors


@pytest.fixture
def litellm(proxy: Proxy, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proxy]:
    """aigw configured with the proxy as an OpenAI-compatible provider holding the master key."""
    config_file.parent.mkdir(parents=True, exist_ok=True)
    (recipe,) = recipes("LiteLLM proxy")  # README's block as written, but for the proxy's address
    assert recipe["models"] == list(MODELS)
    config_file.write_text(
        "[routing]\nretries = 0\n\n"  # one request per run: the proxy already retries the upstream
        + as_toml("litellm", {**recipe, "base_url": proxy.base_url})
    )
    monkeypatch.setenv("AIGW_PROVIDERS__LITELLM__API_KEY", MASTER_KEY)
    proxy.upstream.clear_faults()
    proxy.upstream.clear_log()
    yield proxy
    proxy.upstream.clear_faults()


# ---- Portkey's open-source gateway ----------------------------------------------------------
# What it does, read in Portkey-AI/gateway (src/) and checked in the published build/start-server.js 1.15.2:
# * a request names its upstream with `x-portkey-provider: openai` and, for a server other than the
#   provider's own, `x-portkey-custom-host: <base url>`; the provider key is the bearer, passed on
#   (src/middlewares/requestValidator/index.ts checks both headers);
# * a custom host is allowed when its hostname is in TRUSTED_CUSTOM_HOSTS, which defaults to
#   localhost, 127.0.0.1, ::1 and host.docker.internal (the build's custom-host check), so the fakes
#   need no setting; the variable is dropped from the gateway's environment to keep that default;
# * `--port=N` sets the port (default 8787) and `--headless` leaves out the web UI; it calls
#   serve({fetch, port}) with no hostname, i.e. every interface (src/start-server.ts), hence loopback.cjs;
# * a text/plain or text/html upstream answer becomes `{"html-message": <text>}` as application/json
#   (src/handlers/responseHandlers.ts -> handleTextResponse in src/handlers/streamHandler.ts);
# * upstream headers (Retry-After, retry-after-ms, x-ratelimit-*) come back with the status; it
#   retries only when a config asks (`retry.attempts`), so by default a 429 reaches the client at once.

PORTKEY_VERSION = "1.15.2"
PORTKEY_DIR = Path(os.environ.get("PORTKEY_GATEWAY_DIR") or HERE / ".products" / "portkey")
PORTKEY_ENTRY = PORTKEY_DIR / "node_modules" / "@portkey-ai" / "gateway" / "build" / "start-server.js"
SECOND_KEY = "second-key"
PORTKEY_DROPPED_ENV = (*DROPPED_ENV, "TRUSTED_CUSTOM_HOSTS", "REDIS_CONNECTION_STRING", "NODE_OPTIONS", "PORT")


@dataclass
class Portkey(Proxy):
    second: FakeOpenAI  # behind the gateway too, for failover

    def headers(self, upstream: FakeOpenAI) -> dict[str, str]:
        return {"x-portkey-provider": "openai", "x-portkey-custom-host": upstream.base_url}


@pytest.fixture(scope="module")
def portkey_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portkey]:
    node = shutil.which("node")
    if node is None or not PORTKEY_ENTRY.is_file():
        not_installed(f"@portkey-ai/gateway@{PORTKEY_VERSION} (or node)")
    workdir = tmp_path_factory.mktemp("portkey")
    with FakeOpenAI(api_key=UPSTREAM_KEY, serve_retired=True) as upstream, \
            FakeOpenAI(api_key=SECOND_KEY, serve_retired=True) as second:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in PORTKEY_DROPPED_ENV and not k.startswith("AIGW_")}
        env.update(HOME=str(workdir), NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        log = workdir / "portkey.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(node), "--require", str(HERE / "loopback.cjs"), str(PORTKEY_ENTRY), f"--port={port}", "--headless"],
                cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(proc, url + "/", log, "portkey")
            yield Portkey(url, upstream, log, second)
        finally:
            stop(proc)
        assert not upstream.errors and not second.errors


def portkey_config(gw: Portkey, *extra: str) -> str:
    """aigw's config: `portkey` through the gateway to the first fake, `backup` to the second."""
    def section(name: str, upstream: FakeOpenAI) -> str:
        headers = ", ".join(f'"{k}" = "{v}"' for k, v in gw.headers(upstream).items())
        return (f'[providers.{name}]\ntype = "openai"\nbase_url = "{gw.base_url}"\ntimeout = 60\n'
                f"headers = {{ {headers} }}\nmodels = {list(MODELS)!r}\n".replace("'", '"'))
    return "[routing]\nretries = 0\n\n" + section("portkey", gw.upstream) + "\n" + section("backup", gw.second) + "".join(extra)


@pytest.fixture
def portkey(portkey_gateway: Portkey, config_file: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Portkey]:
    """aigw configured with two providers through the gateway, each with its upstream's key as bearer."""
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(portkey_config(portkey_gateway))
    monkeypatch.setenv("AIGW_PROVIDERS__PORTKEY__API_KEY", UPSTREAM_KEY)
    monkeypatch.setenv("AIGW_PROVIDERS__BACKUP__API_KEY", SECOND_KEY)
    for fake in (portkey_gateway.upstream, portkey_gateway.second):
        fake.clear_faults()
        fake.clear_log()
    yield portkey_gateway
    for fake in (portkey_gateway.upstream, portkey_gateway.second):
        fake.clear_faults()
