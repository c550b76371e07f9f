"""An image URL a provider returns must not make aigw reach into the local network, whether it is
written as an address or as a name that resolves to one (aigw/providers/_http.py)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx
import pytest

from aigw import errors
from aigw.providers._http import download_image, reaches_inward

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
DNS = {"cdn.example": ["93.184.216.34"], "inward.example": ["10.0.0.5"], "meta.example": ["169.254.169.254"],
       "mixed.example": ["93.184.216.34", "127.0.0.1"], "v6.example": ["::ffff:127.0.0.1"]}


async def fake_resolve(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return DNS[host]


def fetch(url: str, *, origin: str = "https://api.example/v1", redirects: dict[str, str] | None = None) -> list[str]:
    """Download `url`; returns the URLs requested (the image comes back from any of them)."""
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        target = (redirects or {}).get(str(request.url))
        if target:
            return httpx.Response(302, headers={"location": target})
        return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})

    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            assert await download_image(client, url, provider="p", max_bytes=1 << 20, timeout=5,
                                        origin=origin, resolve=fake_resolve) == PNG

    asyncio.run(go())
    return sent


@pytest.mark.parametrize("host", ["inward.example", "meta.example", "mixed.example", "v6.example"])
def test_a_name_that_resolves_inward_is_refused_before_anything_is_sent(host: str) -> None:
    with pytest.raises(errors.MalformedReplyError, match="private address"):
        fetch(f"https://{host}/img.png")


def test_a_redirect_to_such_a_name_is_refused_at_that_hop() -> None:
    with pytest.raises(errors.MalformedReplyError, match=r"private address \(inward.example\)"):
        fetch("https://cdn.example/a.png", redirects={"https://cdn.example/a.png": "http://inward.example/b.png"})


def test_public_names_unresolvable_names_and_the_providers_own_host_are_fetched() -> None:
    assert fetch("https://cdn.example/a.png") == ["https://cdn.example/a.png"]
    # Not resolvable here: the connection decides (it fails, or a proxy resolves the name).
    assert fetch("https://elsewhere.example/a.png") == ["https://elsewhere.example/a.png"]
    # A gateway on the local network serving its own images: its host is trusted, unresolved.
    assert fetch("http://gateway.lan/img/1.png", origin="http://gateway.lan/v1") == ["http://gateway.lan/img/1.png"]


def test_addresses_written_out_need_no_resolver() -> None:
    async def never(host: str, port: int) -> list[str]:
        raise AssertionError(f"resolved {host}")

    async def check(url: str) -> bool:
        return await reaches_inward(httpx.URL(url), never)

    for url in ("http://127.0.0.1/x", "http://[::ffff:127.0.0.1]/x", "http://[fe80::1%25eth0]/x", "http://0x7f000001/x",
                "http://localhost/x", "http://169.254.169.254/latest/meta-data/"):
        assert asyncio.run(check(url)), url
    assert not asyncio.run(check("http://93.184.216.34/x"))


def test_this_machines_own_name_is_caught_by_the_real_resolver() -> None:
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    if all(ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses):
        pytest.skip(f"{name} resolves only to public addresses here: nothing inward to catch")
    assert asyncio.run(reaches_inward(httpx.URL(f"http://{name}:8080/img.png")))
