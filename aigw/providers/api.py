"""The stable API for provider packages: everything a third-party provider needs, from one module.

    from aigw.providers.api import ProviderBase, ProviderDescription, translated, classify, json_body, ...

A name here keeps its meaning across aigw's minor versions; the underscore modules it re-exports from
(`_http`, `_options`, `_jobs`) are aigw's own and may move. README "Writing a provider package" shows
each in use, and tests/plugin_example imports nothing else from aigw.

Loaded lazily (PEP 562): the description module of a package imports `ProviderDescription` from here
whenever aigw reads settings, and must not pull in httpx and pydantic for that; the rest is imported
when first used, which is when the provider is built.

    describing   ProviderDescription
    the class    ProviderBase (subclass it), Provider (the protocol the router calls)
    options      Support, SENT, MAPPED, NOT_SENT, REFUSED, BY_MODEL, not_sent
    calls        ImageCall, TranscribeCall, AudioUpload; results ProviderImages, ImageBlob,
                 ProviderTranscript, Usage
    errors       UsageError and ProviderError with its subclasses (each decides what the router does)
    HTTP         translated (httpx failures -> aigw errors), classify (an error response -> the right
                 error), json_body, download_image, sniff_image, retry_after, MAX_IMAGE_BYTES_DEFAULT
    queue jobs   JobMachine, QueueAPI, QueuedJob, Submitted, Finished, RecordedJob
    events       EventSink, JobStatus, Waiting; Clock
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE: dict[str, str] = {
    "ProviderDescription": "aigw.plugins",
    **dict.fromkeys(("ProviderBase", "Provider"), "aigw.providers.base"),
    **dict.fromkeys(("Support", "SENT", "MAPPED", "NOT_SENT", "REFUSED", "BY_MODEL", "not_sent"),
                    "aigw.providers._options"),
    **dict.fromkeys(("ImageCall", "TranscribeCall", "AudioUpload", "ProviderImages", "ImageBlob",
                     "ProviderTranscript", "Usage", "RecordedJob"), "aigw.types"),
    **dict.fromkeys(("UsageError", "ProviderError", "RetryableError", "RateLimitedError", "TimedOutError",
                     "MalformedReplyError", "JobGoneError", "EmptyResultError", "ModelUnavailableError",
                     "AuthError", "QuotaExceededError", "BadRequestError", "ContentRefusedError"), "aigw.errors"),
    **dict.fromkeys(("translated", "classify", "json_body", "download_image", "sniff_image", "retry_after",
                     "MAX_IMAGE_BYTES_DEFAULT"), "aigw.providers._http"),
    **dict.fromkeys(("JobMachine", "QueueAPI", "QueuedJob", "Submitted", "Finished"), "aigw.providers._jobs"),
    **dict.fromkeys(("EventSink", "JobStatus", "Waiting"), "aigw.events"),
    "Clock": "aigw.clock",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from aigw.clock import Clock
    from aigw.errors import (
        AuthError,
        BadRequestError,
        ContentRefusedError,
        EmptyResultError,
        JobGoneError,
        MalformedReplyError,
        ModelUnavailableError,
        ProviderError,
        QuotaExceededError,
        RateLimitedError,
        RetryableError,
        TimedOutError,
        UsageError,
    )
    from aigw.events import EventSink, JobStatus, Waiting
    from aigw.plugins import ProviderDescription
    from aigw.providers._http import (
        MAX_IMAGE_BYTES_DEFAULT,
        classify,
        download_image,
        json_body,
        retry_after,
        sniff_image,
        translated,
    )
    from aigw.providers._jobs import Finished, JobMachine, QueueAPI, QueuedJob, Submitted
    from aigw.providers._options import BY_MODEL, MAPPED, NOT_SENT, REFUSED, SENT, Support, not_sent
    from aigw.providers.base import Provider, ProviderBase
    from aigw.types import (
        AudioUpload,
        ImageBlob,
        ImageCall,
        ProviderImages,
        ProviderTranscript,
        RecordedJob,
        TranscribeCall,
        Usage,
    )
