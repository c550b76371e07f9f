"""The one place where HTTP responses and httpx failures become aigw errors.

Every provider sends requests through `send()` or wraps its own calls in `translated()`, so the
router only ever sees the classes in aigw.errors.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import re
import socket
import ssl
import time
import zlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

import httpx

from aigw import errors

if sys.version_info >= (3, 11):
    from asyncio import timeout as bounded
else:  # the same context manager, before asyncio had it
    from async_timeout import timeout as bounded

# Codes and types that mean "the content was refused", across OpenAI, Azure and gateways.
REFUSAL_CODES = {
    "content_policy_violation",
    "moderation_blocked",
    "contentfilter",
    "content_filter",
    "responsibleaipolicyviolation",
    "content_filtered",
    "safety",
    "content_moderation",  # Stability: 403 {"name": "content_moderation"} when the prompt is flagged
}
QUOTA_CODES = {"insufficient_quota", "billing_hard_limit_reached", "quota_exceeded"}
# "This provider has no such model" (OpenAI, Groq and other compatible servers; some answer 400).
MODEL_NOT_FOUND_CODES = {"model_not_found", "model_not_available"}
MAX_IMAGE_BYTES_DEFAULT = 64 * 1024 * 1024


def auth_hint(provider: str) -> str:
    """What to do about a rejected key, from the provider's description (the variables its SDK reads),
    so a new provider needs no entry in a table here."""
    from aigw import plugins

    desc = plugins.get(provider)
    variables = [v.replace(":", " and ") for v in (desc.env.get("api_key", ()) if desc else ())]
    return f"check the key: 'aigw config keys set {provider}'" + (f" or {' / '.join(variables)}" if variables else "")


class _Guard:
    """`with guard(provider):` turns one family of exceptions into aigw errors. A class, not a
    generator context manager: it wraps every request, and this costs a third as much."""

    __slots__ = ("provider",)

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> Literal[False]:
        if exc is not None:
            self.translate(exc)
        return False

    def translate(self, exc: BaseException) -> None:
        """Raise the aigw error `exc` is, from it; return to let it through as it is."""


class translated(_Guard):  # noqa: N801 - used as `with translated(name):`, like the function it was
    """Turn httpx transport failures into aigw errors (`raise ... from exc`)."""

    __slots__ = ()

    def translate(self, exc: BaseException) -> None:
        if isinstance(exc, (httpx.TransportError, httpx.TooManyRedirects)):
            _translate(self.provider, exc)


def _translate(provider: str, exc: Exception) -> None:
    if isinstance(exc, httpx.ReadTimeout):
        # The request went out whole: the provider may be working on (and billing) it.
        raise errors.TimedOutError(f"{provider}: timed out waiting for the reply", provider=provider) from exc
    if isinstance(exc, httpx.TimeoutException):
        raise errors.RetryableError(f"{provider}: timed out ({type(exc).__name__})", provider=provider) from exc
    if isinstance(exc, httpx.TooManyRedirects):
        raise errors.MalformedReplyError(f"{provider}: redirect loop ({exc})", provider=provider) from exc
    if isinstance(exc, httpx.ConnectError):
        raise errors.RetryableError(f"{provider}: cannot connect ({exc})", provider=provider) from exc
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        raise errors.RetryableError(f"{provider}: connection broke ({exc or type(exc).__name__})", provider=provider) from exc
    if isinstance(exc, httpx.TransportError):
        raise errors.RetryableError(f"{provider}: transport error ({exc or type(exc).__name__})", provider=provider) from exc


class readable_replies(_Guard):  # noqa: N801 - used as `with readable_replies(name):`
    """Whatever a reply's shape, parsing it fails as a provider failure, never as a crash: a KeyError,
    TypeError, ValidationError... raised while a provider reads a reply (a `data` that is not a list of
    objects, a body that is a JSON list, an image url that is not a string) becomes MalformedReplyError.
    ProviderBase wraps every generate() and transcribe() in this, so no parsing site needs its own."""

    __slots__ = ()

    def translate(self, exc: BaseException) -> None:
        if isinstance(exc, (LookupError, TypeError, AttributeError, ValueError, httpx.InvalidURL)) \
                and not isinstance(exc, errors.AigwError):
            raise errors.MalformedReplyError(f"malformed reply from {self.provider}: {type(exc).__name__}: {exc}",
                                             provider=self.provider) from exc


MAX_REPLY_BYTES = 64 * 1024 * 1024  # any reply body read whole (JSON, text): README "Limits"


class CappedTransport(httpx.AsyncBaseTransport):
    """Refuses a reply body over `cap` while it streams in (a 300 MB JSON body is never held)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, cap: int = MAX_REPLY_BYTES) -> None:
        self.inner = inner
        self.cap = cap

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # Compressed bodies are decoded here, so the cap counts what would be held: a 2 MB gzip
        # body can inflate to gigabytes. Only the encodings decoded here are asked for.
        request.headers["Accept-Encoding"] = "gzip, deflate"
        response = await self.inner.handle_async_request(request)
        host = request.url.host
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding in ("", "identity"):
            response.stream = _CappedStream(response.stream, self.cap, host)  # type: ignore[arg-type]
            return response
        if encoding not in ("gzip", "x-gzip", "deflate"):
            await response.aclose()
            raise errors.MalformedReplyError(f"the reply from {host} is in an encoding not asked for ({encoding[:40]})")
        del response.headers["content-encoding"]
        if "content-length" in response.headers:
            del response.headers["content-length"]
        response.stream = _InflatedCappedStream(response.stream, self.cap, host, encoding)  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class _CappedStream(httpx.AsyncByteStream):
    def __init__(self, inner: Any, cap: int, host: str) -> None:
        self.inner, self.cap, self.host = inner, cap, host

    async def __aiter__(self) -> AsyncIterator[bytes]:
        total = 0
        async for chunk in self.inner:
            total += len(chunk)
            if total > self.cap:
                raise errors.MalformedReplyError(f"the reply from {self.host} is over the {self.cap // 2**20} MiB "
                                                 "limit; refused while it streamed in")
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class _InflatedCappedStream(httpx.AsyncByteStream):
    """A gzip or deflate body inflated at most 1 MiB at a time, refused once it passes the cap."""

    def __init__(self, inner: Any, cap: int, host: str, encoding: str) -> None:
        self.inner, self.cap, self.host, self.encoding = inner, cap, host, encoding

    async def __aiter__(self) -> AsyncIterator[bytes]:
        wbits = 15 if self.encoding == "deflate" else 31  # zlib-wrapped deflate; gzip
        inflater = zlib.decompressobj(wbits)
        total, started = 0, False
        async for chunk in self.inner:
            data = chunk
            while data:
                try:
                    out = inflater.decompress(data, 1 << 20)
                except zlib.error as exc:
                    if not started and wbits == 15:  # some servers send raw deflate
                        wbits, inflater = -15, zlib.decompressobj(-15)
                        continue
                    raise errors.MalformedReplyError(f"the reply from {self.host} is not valid {self.encoding} "
                                                     f"({exc})") from exc
                started = True
                total += len(out)
                if total > self.cap:
                    raise errors.MalformedReplyError(f"the reply from {self.host} is over the {self.cap // 2**20} "
                                                     "MiB limit once decompressed; refused while it streamed in")
                if out:
                    yield out
                if inflater.eof:  # another gzip member may follow
                    data = inflater.unused_data
                    if data:
                        inflater = zlib.decompressobj(wbits)
                else:
                    data = inflater.unconsumed_tail
        rest = inflater.flush()
        if total + len(rest) > self.cap:
            raise errors.MalformedReplyError(f"the reply from {self.host} is over the {self.cap // 2**20} "
                                             "MiB limit once decompressed; refused while it streamed in")
        if rest:
            yield rest

    async def aclose(self) -> None:
        await self.inner.aclose()


class TLSOnDemand(httpx.AsyncBaseTransport):
    """httpx's own transport, made when first needed and split by scheme, so that a run that sends
    no https request never loads a CA bundle: the context that verifies certificates (certifi's
    bundle, or SSL_CERT_FILE / SSL_CERT_DIR) costs about 20 ms to build, a tenth of a one-shot
    `aigw generate`. https requests go through a transport made as httpx makes it by default, at
    the first https request; plain http ones (a server on 127.0.0.1) through one whose TLS context
    is never used: it gets only http:// URLs (proxies are the client's own mounts, redirects are not
    followed), and were it ever to shake hands, a context that trusts no certificate would refuse."""

    def __init__(self) -> None:
        self._plain: httpx.AsyncHTTPTransport | None = None
        self._tls: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            if self._plain is None:
                self._plain = httpx.AsyncHTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
            return await self._plain.handle_async_request(request)
        if self._tls is None:
            self._tls = httpx.AsyncHTTPTransport()
        return await self._tls.handle_async_request(request)

    async def aclose(self) -> None:
        for transport in (self._plain, self._tls):
            if transport is not None:
                await transport.aclose()


def capped(transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncBaseTransport:
    return CappedTransport(transport if transport is not None else TLSOnDemand())


def error_fields(response: httpx.Response) -> tuple[str, str | None, str | None]:
    """(message, code, type) from the many error body shapes providers and gateways use."""
    try:
        body: Any = response.json()
    except ValueError:
        text = response.text.strip()
        return (text[:300] or response.reason_phrase or "no message"), None, None
    err: Any = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(err, str):
        return err, None, None
    listed_errors = err if isinstance(err, list) else (err.get("errors") if isinstance(err, dict) and "name" not in err else None)
    if isinstance(listed_errors, list) and listed_errors and all(isinstance(e, dict) and "message" in e for e in listed_errors):
        # Cloudflare's API envelope (AI Gateway's own errors): {"success": false, "error" or "errors":
        # [{"code": 2003, "message": "Rate limited"}]}
        first_code = listed_errors[0].get("code")
        return ("; ".join(str(e["message"]) for e in listed_errors)[:300],
                str(first_code) if first_code is not None else None, None)
    if not isinstance(err, dict):
        return str(err)[:300], None, None
    listed, name = err.get("errors"), err.get("name")
    if isinstance(listed, list) and isinstance(name, str):
        # Stability: {"id": "...", "name": "bad_request", "errors": ["prompt: is required"]}
        return ("; ".join(str(e) for e in listed)[:300] or name), name, None
    if "err_code" in err or "err_msg" in err:
        # Deepgram, older style: {"err_code": "Bad Request", "err_msg": "...", "request_id": "..."}
        legacy_code = err.get("err_code")
        return (str(err.get("err_msg") or legacy_code or "no message")[:300],
                str(legacy_code) if legacy_code is not None else None, None)
    if isinstance(err.get("category"), str) and "code" not in err:
        # Deepgram, newer style: {"category": "INVALID_AUTH", "message": "...", "details": "...", "request_id": "..."}
        details = err.get("details")
        text = str(err.get("message") or err["category"])
        if isinstance(details, str) and details and details not in text:
            text = f"{text}: {details}"
        return text[:300], err["category"], None
    message = err.get("message") or err.get("detail") or body.get("detail") or body.get("message") or str(body)[:300]
    if isinstance(message, (list, dict)):
        message = str(message)[:300]
    code = err.get("code")
    inner = err.get("innererror")
    if isinstance(inner, dict) and inner.get("code"):
        code = code or inner["code"]
    etype = err.get("type")
    return str(message), (str(code) if code is not None else None), (str(etype) if etype else None)


def is_refusal(code: str | None, etype: str | None, message: str) -> bool:
    if code and code.lower() in REFUSAL_CODES:
        return True
    if etype and etype.lower() in {"image_generation_user_error"} and code != "invalid_size":
        return True
    return "safety system" in message.lower()


def classify(response: httpx.Response, provider: str, *, now: float | None = None) -> errors.ProviderError:
    """Map a non-2xx response to the aigw error the router acts on."""
    status = response.status_code
    message, code, etype = error_fields(response)
    text = f"{provider}: HTTP {status}: {message}"
    kw: dict[str, Any] = {"provider": provider, "status": status, "code": code}
    lowered = {(code or "").lower(), (etype or "").lower()}
    # LiteLLM rewrites the code but keeps "insufficient_quota" in the message.
    quota_words = "insufficient_quota" in message or "exceeded your current quota" in message.lower()
    if lowered & QUOTA_CODES or status == 402 or (status == 429 and quota_words):
        return errors.QuotaExceededError(text, hint=f"add credit at {provider}, or use another provider", **kw)
    if status == 429:
        return errors.RateLimitedError(text, retry_after=retry_after(response.headers, now=now), **kw)
    if status in (400, 403, 422) and is_refusal(code, etype, message):
        return errors.ContentRefusedError(text, **kw)
    if status == 400 and etype == "no_db_connection":
        # A LiteLLM proxy without a database knows only its master key: any other key gets
        # 400 "No connected db." (seen with litellm[proxy] 1.106.2). It is a wrong key, not a bad request.
        return errors.AuthError(text, hint=f"this LiteLLM proxy has no database, so only its master key is accepted: "
                                           f"check the key ('aigw config keys set {provider}')", **kw)
    if status == 400 and message.startswith("cannot use own model"):
        # Kong AI Proxy: the route's target is configured for another model.
        return errors.BadRequestError(text, hint=f"the gateway route serves only the model it names; list that one in "
                                                 f"providers.{provider}.models", **kw)
    if status in (401, 403):
        return errors.AuthError(text, hint=auth_hint(provider), **kw)
    if (status == 404 and "model" in message.lower()) or (status in (400, 404) and code in MODEL_NOT_FOUND_CODES):
        return errors.ModelUnavailableError(text, **kw)
    if status == 413 and "request size limit" in message.lower():
        # A gateway's own body cap, far below the provider's (Kong: {"message": "Request size limit exceeded"}).
        return errors.BadRequestError(text, hint="the gateway's request body limit is below this file (Kong AI Proxy: "
                                                 "max_request_body_size, 1 MiB by default); raise it there, or split or "
                                                 "compress the file", **kw)
    if status == 413:
        return errors.BadRequestError(text, hint="the file is over the provider's upload limit; split or compress it", **kw)
    if status in (408, 409) or status >= 500:
        return errors.RetryableError(text, **kw)
    if 400 <= status < 500:
        hint = f"the provider rejected parameter '{_param(response)}'" if _param(response) else None
        return errors.BadRequestError(text, hint=hint, **kw)
    return errors.RetryableError(text, **kw)


def _param(response: httpx.Response) -> str | None:
    try:
        err = response.json().get("error", {})
        return err.get("param") if isinstance(err, dict) else None
    except (ValueError, AttributeError):
        return None


_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_go_duration(value: str) -> float | None:
    """OpenAI's x-ratelimit-reset-* values: '12ms', '1s', '6m0s', '1h2m3.5s'."""
    parts = _GO_DURATION.findall(value.strip())
    if not parts or "".join(n + u for n, u in parts) != value.strip():
        return None
    return sum(float(n) * _UNIT[u] for n, u in parts)


def retry_after(headers: httpx.Headers, *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: retry-after-ms, Retry-After (seconds or HTTP date),
    then x-ratelimit-reset-requests / -tokens (the longer one)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    ra = headers.get("retry-after")
    if ra:
        try:
            return max(float(ra), 0.0)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(ra) if _looks_like_date(ra) else None
            if parsed is not None:
                return max(parsed.timestamp() - (now if now is not None else time.time()), 0.0)
    resets = [parse_go_duration(headers[h]) for h in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens") if h in headers]
    known = [r for r in resets if r is not None]
    return max(known) if known else None


def _looks_like_date(value: str) -> bool:
    try:
        return email.utils.parsedate_to_datetime(value) is not None
    except (TypeError, ValueError, IndexError):
        return False


IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
)


def sniff_image(data: bytes) -> str | None:
    for magic, ext in IMAGE_MAGIC:
        if data.startswith(magic):
            return ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.lstrip()[:5] in (b"<svg ", b"<?xml"):
        return "svg"
    return None


MAX_REDIRECTS = 5


def private_host(url: httpx.URL) -> bool:
    """A loopback, private, link-local or otherwise non-public address (169.254.169.254 is the cloud
    metadata service), written as an address or as localhost. A name is not resolved here (see
    reaches_inward)."""
    host = url.host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = _literal_ip(host)
    return ip is not None and _non_public(ip)


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 scope (fe80::1%eth0) is not part of it
    except ValueError:
        # The resolver takes legacy IPv4 forms ipaddress does not: 2130706433, 0x7f000001, 127.1,
        # 0177.0.0.1 and 0 all reach this machine.
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None


def _non_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return not ip.is_global or ip.is_multicast


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolve(host: str, port: int) -> list[str]:
    """The addresses a connection to host:port would try, from the system's resolver."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


RESOLVE_WAIT_S = 5.0


async def reaches_inward(url: httpx.URL, resolve: Resolver = system_resolve) -> bool:
    """Whether a URL leads to a non-public address: written as one, or a name that resolves to one
    (a name `metadata.internal`, `x.nip.io` or this machine's own name can lead to 169.254.169.254 or
    127.0.0.1). A name this machine cannot resolve is left to the connection, which fails, or goes
    through a proxy that resolves it. A name whose answer changes between this check and the
    connection is not caught."""
    if private_host(url):
        return True
    if _literal_ip(url.host) is not None:
        return False
    try:
        async with bounded(RESOLVE_WAIT_S):
            addresses = await resolve(url.host, url.port or (443 if url.scheme == "https" else 80))
    except (OSError, UnicodeError, asyncio.TimeoutError):
        return False
    return any(ip is not None and _non_public(ip) for ip in map(_literal_ip, addresses))


async def download_image(client: httpx.AsyncClient, url: str, *, provider: str, max_bytes: int,
                         timeout: float, origin: str | None = None, resolve: Resolver = system_resolve) -> bytes:
    """Fetch an image URL a provider returned: bounded in size and time, content type checked.

    A URL (or a redirect) to a private or loopback address, or to a name that resolves to one, is
    refused unless it is on the host of `origin` (the provider's own base URL): a reply must not make
    aigw reach into the local network.
    Redirects are followed by hand, each hop checked, at most MAX_REDIRECTS."""
    if not isinstance(url, str):
        raise errors.MalformedReplyError(f"{provider}: the image url is not a string", provider=provider)
    own_host = httpx.URL(origin).host if origin else None
    chunks: list[bytes] = []
    with translated(provider):
        target = httpx.URL(url)
        for _hop in range(MAX_REDIRECTS + 1):
            if target.scheme not in ("http", "https"):
                raise errors.MalformedReplyError(f"{provider}: image url is not http(s)", provider=provider)
            if target.host != own_host and await reaches_inward(target, resolve):
                raise errors.MalformedReplyError(
                    f"{provider}: refused an image url on a private address ({target.host})", provider=provider)
            async with client.stream("GET", target, timeout=timeout, follow_redirects=False) as resp:
                if resp.is_redirect and "location" in resp.headers:
                    target = target.join(resp.headers["location"])
                    continue
                if resp.status_code >= 400:
                    raise errors.RetryableError(f"{provider}: image download failed: HTTP {resp.status_code}",
                                                provider=provider, status=resp.status_code)
                ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype and not ctype.startswith("image/") and ctype != "application/octet-stream":
                    raise errors.EmptyResultError(f"{provider}: image URL returned {ctype}, not an image", provider=provider)
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise errors.EmptyResultError(f"{provider}: image is {declared} bytes, over the {max_bytes}-byte limit", provider=provider)
                total = 0
                async for chunk in resp.aiter_bytes():
                    total += len(chunk)
                    if total > max_bytes:
                        raise errors.EmptyResultError(f"{provider}: image over the {max_bytes}-byte limit", provider=provider)
                    chunks.append(chunk)
                break
        else:
            raise errors.MalformedReplyError(f"{provider}: image url redirects more than {MAX_REDIRECTS} times",
                                             provider=provider)
    data = b"".join(chunks)
    if sniff_image(data) is None:
        raise errors.EmptyResultError(f"{provider}: downloaded file is not an image", provider=provider)
    return data


def json_body(response: httpx.Response, provider: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise errors.MalformedReplyError(f"{provider}: malformed JSON in a {response.status_code} response",
                                    provider=provider, status=response.status_code) from exc
