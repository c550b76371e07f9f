"""The default transport loads a CA bundle only when an https request is made (providers/_http.py)."""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest

from aigw.providers._http import capped
from tests.fakes.openai import FakeOpenAI


@pytest.fixture
def bundles_loaded(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each call of ssl.create_default_context, the one httpx makes to load the CA bundle."""
    calls: list[object] = []
    real = ssl.create_default_context

    def counted(*args: object, **kwargs: object) -> ssl.SSLContext:
        calls.append(kwargs.get("cafile") or kwargs.get("capath"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl, "create_default_context", counted)
    return calls


def test_plain_http_never_loads_a_ca_bundle_and_https_loads_it_once(bundles_loaded: list[object]) -> None:
    async def scenario(base: str) -> None:
        async with httpx.AsyncClient(transport=capped(None), headers={"Authorization": "Bearer sk-fake"}) as client:
            for _ in range(2):
                assert (await client.get(base + "/models")).status_code == 200
            assert bundles_loaded == []
            https = base.replace("http://", "https://", 1)
            for _ in range(2):  # a plain-HTTP server cannot finish a TLS handshake
                with pytest.raises(httpx.ConnectError):
                    await client.get(https + "/models")
            assert len(bundles_loaded) == 1  # made at the first https request, then kept

    with FakeOpenAI() as fake:
        asyncio.run(scenario(fake.base_url))


def test_the_plain_transport_trusts_no_certificate() -> None:
    """Were the plain-HTTP side ever to shake hands, it would verify against an empty trust store."""
    async def scenario() -> None:
        transport = capped(None)
        inner = transport.inner  # type: ignore[attr-defined]
        with FakeOpenAI() as fake:
            async with httpx.AsyncClient(transport=transport) as client:
                await client.get(fake.base_url + "/models")
        pool = inner._plain._pool
        context: ssl.SSLContext = pool._ssl_context
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert context.cert_store_stats()["x509_ca"] == 0

    asyncio.run(scenario())
