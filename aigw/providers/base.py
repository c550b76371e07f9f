"""The provider interface: one wire protocol each, no failover, only aigw errors out.

A provider is built once per run (by the engine, for each candidate of the run's plan) with its
settings, the engine's httpx client and a clock. Before any request the engine calls
`prepare_image` / `prepare_transcribe`, which map aigw's vocabulary onto what this
provider can honour: a value it cannot take becomes the nearest one it can, with a warning, or a
UsageError (exit 2) before anything is sent. `generate` / `transcribe` then do the one request (or
job) and return what the provider reported. Queue-based providers report each job through
`report_job` (which calls `on_job`: the engine makes it a JobSubmitted event the run-log recorder
writes) before polling, so the run log knows what was submitted even if aigw is interrupted, and can
take such a recorded job back with `resume_image` / `resume_transcribe`, which poll it and read its
result without submitting it again.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aigw import redact
from aigw.clock import Clock, SystemClock
from aigw.errors import UsageError
from aigw.events import EventSink, no_events
from aigw.providers._options import Support

if TYPE_CHECKING:
    import httpx

    from aigw.settings.model import ProviderSettings
    from aigw.types import ImageCall, ProviderImages, ProviderTranscript, RecordedJob, TranscribeCall

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 300.0

# job_id, status ("submitted", "cancelled", ...), details (urls) -> None
JobListener = Callable[[str, str, dict[str, Any]], None]


class Provider(Protocol):
    name: str
    kinds: ClassVar[frozenset[str]]
    on_job: JobListener | None
    events: EventSink

    def prepare_image(self, call: ImageCall) -> tuple[ImageCall, list[str]]: ...

    def prepare_transcribe(self, call: TranscribeCall) -> tuple[TranscribeCall, list[str]]: ...

    async def generate(self, call: ImageCall, *, timeout: float) -> ProviderImages: ...

    async def transcribe(self, call: TranscribeCall, *, timeout: float) -> ProviderTranscript: ...

    async def resume_image(self, call: ImageCall, job: RecordedJob, *, timeout: float) -> ProviderImages: ...

    async def resume_transcribe(self, call: TranscribeCall, job: RecordedJob, *,
                                timeout: float) -> ProviderTranscript: ...

    async def check(self, *, timeout: float) -> dict[str, Any]: ...


@functools.lru_cache(maxsize=256)
def _split_base(given: str, versions: tuple[str, ...]) -> tuple[str, str]:
    """(base URL without query or fragment, its query): what paths are joined to, and what every
    request URL gets back. Cached: a provider is built for every run, from the same few URLs."""
    if not given:
        return given, ""
    parts = urlsplit(given)
    bare = urlunsplit(parts._replace(query="", fragment=""))
    return strip_version(bare.rstrip("/"), versions), parts.query


def strip_version(base_url: str, versions: tuple[str, ...]) -> str:
    for version in versions:
        if base_url.endswith(version):
            return base_url[: -len(version)]
    return base_url


@functools.lru_cache(maxsize=256)
def _with_query(url: str, base_query: str) -> str:
    """A request URL on a provider's base: the same few for every run, so made once."""
    return _merged_query(url, base_query, None)


def _merged_query(url: str, base_query: str, query: dict[str, str] | None) -> str:
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    for extra in (parse_qsl(base_query, keep_blank_values=True), list((query or {}).items())):
        names = {name for name, _ in extra}
        pairs = [(n, v) for n, v in pairs if n not in names] + extra
    if not pairs:
        return url
    if not query and not parts.query:
        return urlunsplit(parts._replace(query=base_query))  # kept exactly as given
    return urlunsplit(parts._replace(query=urlencode(pairs)))


class ProviderBase:
    """Shared plumbing: name, settings, HTTP client, clock, base URL, job reporting, default hooks."""

    kinds: ClassVar[frozenset[str]] = frozenset()
    default_base_url: ClassVar[str] = ""
    # How each option of aigw's vocabulary reaches this provider's wire (README's option table).
    image_options: ClassVar[dict[str, Support]] = {}
    audio_options: ClassVar[dict[str, Support]] = {}
    # Takes sizes only: the service turns --aspect-ratio into the catalog model's nearest size first.
    ratio_as_size: ClassVar[bool] = False
    # Version segments this provider's own paths start with (Replicate: /v1/predictions): a base URL
    # given with one at its end (https://api.replicate.com/v1) has it removed, rather than a /v1/v1 404.
    path_versions: ClassVar[tuple[str, ...]] = ()
    # Audio file types (extensions) the provider takes, when it takes fewer than FFmpeg reads: a long
    # recording is re-encoded to one of them (aigw/audio/encode.py). None: any common type.
    audio_input_formats: ClassVar[frozenset[str] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every provider's generate() and transcribe() read replies under one guard: a reply of the
        wrong shape is a provider failure (MalformedReplyError), never an unexpected crash."""
        super().__init_subclass__(**kwargs)
        for name in ("generate", "transcribe", "resume_image", "resume_transcribe"):
            if name in cls.__dict__:
                setattr(cls, name, _guarded(cls.__dict__[name]))

    def __init__(self, name: str, settings: ProviderSettings, client: httpx.AsyncClient | None,
                 *, clock: Clock | None = None) -> None:
        self.name = name
        self.settings = settings
        self.client = client  # None only while preparing a plan, when nothing is sent
        self.clock = clock or SystemClock()
        # A base URL may carry a query a gateway needs (?api-version=..., ?key=...): the base_url kept
        # here is the part paths are joined to; every request URL gets the query back from endpoint().
        self.base_url, self.base_query = _split_base(settings.base_url or self.default_base_url, self.path_versions)
        self.on_job: JobListener | None = None
        self.events: EventSink = no_events  # what the run is waiting on (queue status), for a status line
        redact.register(self.api_key)
        for header, value in (settings.headers or {}).items():
            redact.register_header(header, value)
        redact.register_url(settings.base_url or self.default_base_url)
        self._check_header_values()

    def _check_header_values(self) -> None:
        """A key or header value that cannot go in an HTTP header (a pasted curly quote, an 'é') is a
        configuration error before anything is sent, not a malformed reply retried against the circuit.
        The message names where the value came from, never the value."""
        key = self.api_key
        if key is not None and not key.isascii():
            from aigw.errors import ConfigError
            from aigw.settings.keys import overriding_variables

            variables = overriding_variables(self.name)
            where = " or ".join(variables) if variables else f"the keys file entry for {self.name}"
            raise ConfigError(f"{self.name}: the API key ({where}) has a non-ASCII character, which cannot be "
                              "sent in an HTTP header",
                              hint=(f"re-enter it: set {where} again, or unset it and run "
                                    f"'aigw config keys set {self.name}'" if variables
                                    else f"re-enter it: 'aigw config keys set {self.name}'"))
        for header, value in (self.settings.headers or {}).items():
            if not (header.isascii() and value.isascii()):
                from aigw.errors import ConfigError

                raise ConfigError(f"{self.name}: providers.{self.name}.headers has a non-ASCII character in "
                                  f"header {header.encode('ascii', 'replace').decode()!r}, which cannot be sent",
                                  hint=f"re-enter the value in [providers.{self.name}] headers in the config file ('aigw config path')")

    def endpoint(self, path: str, query: dict[str, str] | None = None) -> str:
        """The one way a request URL is made from the base URL: `path` joined to the base's path, the
        base's own query kept, merged with `query` (this provider's own parameters win a clash)."""
        return self.with_base_query(self.base_url + "/" + path.lstrip("/") if path else self.base_url, query)

    def with_base_query(self, url: str, query: dict[str, str] | None = None) -> str:
        """`url` (on this provider's base, or one it returned for a job) with the base URL's query
        and `query` merged into its own."""
        if not query:
            return _with_query(url, self.base_query)
        return _merged_query(url, self.base_query, query)

    @property
    def http(self) -> httpx.AsyncClient:
        assert self.client is not None, "a provider built for planning cannot send requests"
        return self.client

    @property
    def api_key(self) -> str | None:
        return self.settings.api_key.get_secret_value() if self.settings.api_key else None

    def report_job(self, job_id: str, status: str, details: dict[str, Any]) -> None:
        """The one place a provider reports a queue job (submitted, completed, failed, cancelled,
        expired, resumed) with what finds it again (`details`: URLs, model or endpoint, reason)."""
        if self.on_job is not None:
            self.on_job(job_id, status, details)

    def prepare_image(self, call: ImageCall) -> tuple[ImageCall, list[str]]:
        return call, []

    def prepare_transcribe(self, call: TranscribeCall) -> tuple[TranscribeCall, list[str]]:
        return call, []

    async def generate(self, call: ImageCall, *, timeout: float) -> ProviderImages:
        raise UsageError(f"{self.name} does not generate images")

    async def transcribe(self, call: TranscribeCall, *, timeout: float) -> ProviderTranscript:
        raise UsageError(f"{self.name} does not transcribe audio")

    async def resume_image(self, call: ImageCall, job: RecordedJob, *, timeout: float) -> ProviderImages:
        """The images of a queue job an earlier run recorded (`job`), polled and fetched without
        submitting `call` again; `call` is the prepared call that job was submitted for."""
        raise UsageError(f"{self.name} has no queue jobs to resume")

    async def resume_transcribe(self, call: TranscribeCall, job: RecordedJob, *,
                                timeout: float) -> ProviderTranscript:
        raise UsageError(f"{self.name} has no queue jobs to resume")

    async def check(self, *, timeout: float) -> dict[str, Any]:
        """One cheap authenticated request (a listing or status endpoint, never a paid generation)."""
        raise UsageError(f"{self.name} has no check endpoint")


def _guarded(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    from aigw.providers._http import readable_replies

    @functools.wraps(method)
    async def guarded(self: ProviderBase, call: Any, *args: Any, timeout: float) -> T:
        with readable_replies(self.name):
            return await method(self, call, *args, timeout=timeout)

    return guarded


def provider_class(type_name: str) -> Any:
    """The class a registered provider's description names, imported now (and only now)."""
    from aigw import plugins

    return plugins.providers()[type_name].load_class()

