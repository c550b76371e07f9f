"""The one edge where HTTP becomes aigw errors: every documented status and body maps to a class."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from aigw import errors
from aigw.providers._http import classify, parse_go_duration, retry_after, sniff_image, translated


def response(status: int, body: object = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {"error": {"message": "m", "type": "t",
                                                                                "param": None, "code": None}},
                          headers=headers)


DOCUMENTED = {
    400: errors.BadRequestError, 401: errors.AuthError, 402: errors.QuotaExceededError, 403: errors.AuthError,
    404: errors.BadRequestError, 408: errors.RetryableError, 409: errors.RetryableError, 413: errors.BadRequestError,
    422: errors.BadRequestError, 429: errors.RateLimitedError, 500: errors.RetryableError,
    502: errors.RetryableError, 503: errors.RetryableError, 504: errors.RetryableError,
}


@pytest.mark.parametrize(("status", "cls"), sorted(DOCUMENTED.items()))
def test_every_documented_status_is_mapped(status, cls):
    err = classify(response(status), "p")
    assert type(err) is cls and err.status == status and err.provider == "p"


def test_every_4xx_and_5xx_maps_to_some_provider_error():
    for status in range(400, 600):
        assert isinstance(classify(response(status), "p"), errors.ProviderError)


@pytest.mark.parametrize(("body", "cls"), [
    ({"error": {"message": "x", "type": "insufficient_quota", "code": "insufficient_quota"}}, errors.QuotaExceededError),
    ({"error": {"message": "Your request was rejected as a result of our safety system.",
                "type": "invalid_request_error", "code": "content_policy_violation"}}, errors.ContentRefusedError),
    ({"error": {"message": "blocked", "type": "image_generation_user_error", "code": "moderation_blocked"}},
     errors.ContentRefusedError),
    ({"error": {"code": "contentFilter", "message": "Your task failed as a result of our safety system."}},
     errors.ContentRefusedError),
    ({"error": {"message": "litellm.BadRequestError: ... rejected as a result of our safety system ...",
                "type": "image_generation_user_error", "code": "400"}}, errors.ContentRefusedError),
    ({"error": {"message": "The model `dall-e-3` does not exist", "code": "model_not_found"}},
     errors.ModelUnavailableError),
])
def test_error_bodies_decide_the_class(body, cls):
    status = 429 if cls is errors.QuotaExceededError else (404 if cls is errors.ModelUnavailableError else 400)
    assert type(classify(response(status, body), "p")) is cls


def test_litellm_keeps_insufficient_quota_only_in_the_message():
    body = {"error": {"message": "litellm.RateLimitError: You exceeded your current quota (insufficient_quota)",
                      "type": "throttling_error", "code": "429"}}
    assert type(classify(response(429, body), "p")) is errors.QuotaExceededError


def test_kong_message_bodies_are_read():
    err = classify(httpx.Response(401, json={"message": "No API key found in request"}), "kong")
    assert isinstance(err, errors.AuthError) and "No API key found" in err.message


@pytest.mark.parametrize(("headers", "expected"), [
    ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after": "7"}, 7.0),
    ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ({"x-ratelimit-reset-requests": "6m0s"}, 360.0),
    ({"x-ratelimit-reset-requests": "12ms", "x-ratelimit-reset-tokens": "2s"}, 2.0),
    ({}, None),
])
def test_retry_after_forms(headers, expected):
    assert retry_after(httpx.Headers(headers)) == expected


def test_retry_after_as_an_http_date():
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert retry_after(httpx.Headers({"retry-after": date}), now=1_000_000) == pytest.approx(30)


def test_go_durations():
    assert parse_go_duration("1h2m3.5s") == pytest.approx(3723.5)
    assert parse_go_duration("nonsense") is None


@pytest.mark.parametrize("exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                                 httpx.RemoteProtocolError("reset"), httpx.ReadError("broken")])
def test_transport_failures_are_retryable(exc):
    with pytest.raises(errors.RetryableError) as caught, translated("p"):
        raise exc
    assert caught.value.__cause__ is exc


def test_image_sniffing():
    assert sniff_image(b"\x89PNG\r\n\x1a\n....") == "png"
    assert sniff_image(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff_image(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert sniff_image(b"<html>") is None


def test_the_network_transport_is_made_by_the_first_request_only(fake_openai):
    """Planning, --dry-run and a result-cache hit build providers on the client but send nothing:
    they must not pay for loading the CA certificates."""
    import asyncio

    from aigw.providers._http import capped

    transport = capped(None)
    inner = transport.inner  # type: ignore[attr-defined]

    async def go() -> int:
        async with httpx.AsyncClient(transport=transport) as client:
            assert inner._plain is None and inner._tls is None
            status = (await client.get(fake_openai.base_url + "/models",
                                       headers={"Authorization": "Bearer test"})).status_code
            assert inner._plain is not None and inner._tls is None  # an http:// fake: no CA bundle at all
            return status

    assert asyncio.run(go()) == 200
