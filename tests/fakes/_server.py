"""Reusable base for loopback fake provider servers used by the test-suite.

Only the standard library is used so every fake (OpenAI, fal, Replicate, Groq, ...) can share it
without extra test dependencies. A fake is a real HTTP/1.1 server on 127.0.0.1 with an OS-chosen
port, so adapters are exercised through their real HTTP client (httpx), connection pool included.

What the base gives a subclass:

* lifecycle: ``start()`` / ``stop()`` / ``with Fake() as fake:``; ``stop()`` returns promptly even
  when a handler is parked in a ``hang`` fault or a client keeps an idle keep-alive connection open;
* request parsing: Content-Length and chunked bodies, JSON, urlencoded and multipart forms
  (linear-time parser, files kept as bytes), an optional per-route body cap that drains and counts
  the body instead of storing it (so a 413 can report "N bytes read");
* a thread-safe request log (``.requests``) and per-path counters (``.count(route)``);
* a fault-injection queue (``inject(Fault(...), route=..., times=...)``) applied before routing.

A subclass implements ``route(req) -> Response`` and may override the hooks ``body_limit``,
``common_headers``, ``fault_body``, ``empty_response`` and ``malformed_body``.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable, Mapping, TypeVar
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "Fault",
    "FakeServer",
    "MultipartError",
    "RecordedRequest",
    "Response",
    "UploadedFile",
    "parse_multipart",
]

_READ_BLOCK = 64 * 1024
_S = TypeVar("_S", bound="FakeServer")


# --------------------------------------------------------------------------------------------
# Data types
# --------------------------------------------------------------------------------------------


@dataclass
class UploadedFile:
    """One file part of a multipart body."""

    field: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class RecordedRequest:
    """What the fake saw. Kept in the request log; handlers receive the same object."""

    method: str
    path: str  # without the query string
    target: str  # raw request target as sent (path + query)
    query: dict[str, str]  # last value wins; see query_items for repeats
    query_items: list[tuple[str, str]]
    headers: dict[str, str]  # lower-cased names; repeated headers joined with ", "
    body: bytes  # empty when the body exceeded the route's cap (it is drained, not stored)
    body_size: int  # bytes actually read off the wire (also for too-large bodies)
    chunked: bool  # request used Transfer-Encoding: chunked
    too_large: bool  # body_size exceeded the route's body_limit()
    json: Any = None  # parsed body when the Content-Type is JSON and it parsed
    json_error: str | None = None  # set when a JSON Content-Type body did not parse
    form: dict[str, str] = field(default_factory=dict)  # text fields, last value wins
    form_items: list[tuple[str, str]] = field(default_factory=list)  # text fields in order
    files: dict[str, UploadedFile] = field(default_factory=dict)  # by field name, last wins
    file_list: list[UploadedFile] = field(default_factory=list)  # every file part in order
    form_error: str | None = None  # set when a multipart body could not be parsed
    received_at: float = 0.0  # time.time()
    fault: Fault | None = None  # the injected fault applied to this request, if any
    status: int | None = None  # status sent back (None when hung/dropped before answering)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def form_list(self, name: str) -> list[str]:
        """All values of a repeated text field, e.g. ``timestamp_granularities[]``."""
        return [v for k, v in self.form_items if k == name]

    def query_list(self, name: str) -> list[str]:
        return [v for k, v in self.query_items if k == name]


@dataclass
class Response:
    """A complete response; the base adds Content-Length and the subclass's common headers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
        hdrs = {"content-type": "application/json"}
        hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
        return cls(status, json.dumps(payload).encode(), hdrs)

    @classmethod
    def text(
        cls,
        text: str,
        status: int = 200,
        content_type: str = "text/plain; charset=utf-8",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        hdrs = {"content-type": content_type}
        hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
        return cls(status, text.encode(), hdrs)

    @classmethod
    def raw(cls, body: bytes, content_type: str, status: int = 200) -> Response:
        return cls(status, body, {"content-type": content_type})


@dataclass(frozen=True)
class Fault:
    """A misbehaviour to apply to the next matching request(s) instead of the normal answer.

    At most one of ``status`` / ``hang`` / ``reset`` / ``empty`` / ``malformed`` may be set;
    ``delay`` combines with any of them (or alone: a slow but otherwise normal answer).

    * ``status``: answer with this status. ``body`` (dict/list -> JSON, str/bytes -> raw) defaults
      to the fake's provider-shaped error for that status; ``headers`` are added last so they win
      (``{"Retry-After": "2"}``, ``{"retry-after-ms": "150"}``, ``{"x-should-retry": "false"}``).
    * ``delay``: seconds to wait before answering (interrupted by ``stop()``).
    * ``hang``: never answer; the connection is dropped when the server stops.
    * ``reset``: send the status line, headers and half of the normal body, then reset the socket.
    * ``empty``: 200 with the provider's "nothing" (e.g. ``data: []`` / empty transcript).
    * ``malformed``: 200 with ``Content-Type: application/json`` and a truncated JSON body.
    """

    status: int | None = None
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = None  # for str/bytes bodies; default application/json
    delay: float = 0.0
    hang: bool = False
    reset: bool = False
    empty: bool = False
    malformed: bool = False

    def __post_init__(self) -> None:
        kinds = [self.status is not None, self.hang, self.reset, self.empty, self.malformed]
        if sum(kinds) > 1:
            raise ValueError("Fault: choose at most one of status/hang/reset/empty/malformed")
        if sum(kinds) == 0 and self.delay <= 0:
            raise ValueError("Fault: nothing to do (set status, delay, hang, reset, empty or malformed)")
        if self.delay < 0:
            raise ValueError("Fault: delay must be >= 0")

    # Convenience constructors for the common cases.
    @classmethod
    def http(cls, status: int, body: Any = None, **headers: str) -> Fault:
        """``Fault.http(429, retry_after="2")`` -> header ``retry-after: 2`` (underscores -> dashes)."""
        return cls(status=status, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()})

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        return cls(delay=seconds)


@dataclass
class _FaultSlot:
    route: str | None
    fault: Fault
    remaining: int | None  # None = until cleared


# --------------------------------------------------------------------------------------------
# Multipart parsing
# --------------------------------------------------------------------------------------------


class MultipartError(ValueError):
    pass


def _boundary_of(content_type: str) -> bytes:
    msg = BytesHeaderParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode("latin-1"))
    boundary = msg.get_param("boundary")
    if not boundary or not isinstance(boundary, str):
        raise MultipartError("multipart Content-Type without a boundary")
    return boundary.encode("latin-1")


def parse_multipart(
    body: bytes, content_type: str
) -> tuple[list[tuple[str, str]], list[UploadedFile]]:
    """Parse multipart/form-data in one linear pass (``bytes.find`` from a moving offset).

    Returns (text fields in order, file parts in order). A part is a file when its
    Content-Disposition carries a ``filename`` parameter (what curl, httpx and the SDKs send).
    """
    boundary = _boundary_of(content_type)
    dash_boundary = b"--" + boundary
    delimiter = b"\r\n" + dash_boundary
    start = body.find(dash_boundary)
    if start < 0:
        raise MultipartError("boundary not found in body")
    pos = start + len(dash_boundary)
    fields: list[tuple[str, str]] = []
    files: list[UploadedFile] = []
    parser = BytesHeaderParser(policy=HTTP)
    while True:
        if body.startswith(b"--", pos):
            return fields, files  # close delimiter
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            raise MultipartError("truncated multipart body (no CRLF after boundary)")
        pos = eol + 2
        if body.startswith(b"\r\n", pos):  # part without headers
            header_block, content_start = b"", pos + 2
        else:
            hdr_end = body.find(b"\r\n\r\n", pos)
            if hdr_end < 0:
                raise MultipartError("truncated multipart part headers")
            header_block, content_start = body[pos:hdr_end], hdr_end + 4
        nxt = body.find(delimiter, content_start)
        if nxt < 0:
            raise MultipartError("missing closing boundary")
        content = body[content_start:nxt]
        pos = nxt + len(delimiter)

        headers = parser.parsebytes(header_block + b"\r\n\r\n")
        if headers.get_content_disposition() != "form-data":
            raise MultipartError("part without Content-Disposition: form-data")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise MultipartError("part without a name")
        filename = headers.get_filename()
        if filename is not None or "filename" in str(headers.get("content-disposition", "")):
            ctype = headers.get("content-type")
            files.append(UploadedFile(name, filename, str(ctype) if ctype else None, content))
        else:
            fields.append((name, content.decode("utf-8", errors="replace")))


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class _DropConnection(Exception):
    """Raised inside a handler to close the socket without answering."""


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Do not join handler threads in server_close(): a hanging handler must not block stop().
    block_on_close = False
    request_queue_size = 128

    def __init__(self, fake: FakeServer, address: tuple[str, int]) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Client disconnects (and our own socket shutdowns in stop()) are expected noise.
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        self.fake._record_error(traceback.format_exc())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real providers; needs Content-Length always
    # Headers and body go out in separate writes; without TCP_NODELAY the client's delayed ACK adds
    # ~40 ms to every request.
    disable_nagle_algorithm = True
    server: _HTTPServer
    # Generous socket timeout: only guards against a wedged client; stop() unblocks readers anyway.
    timeout = 60

    def version_string(self) -> str:
        return self.server.fake.server_header

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep pytest output clean; the request log is the observable record

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, add=False)

    # One entry point for every method: routing is the subclass's job.
    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # -- body reading -----------------------------------------------------------------------

    def _read_exact(self, n: int, sink: bytearray | None) -> int:
        got = 0
        while got < n:
            block = self.rfile.read(min(_READ_BLOCK, n - got))
            if not block:
                raise ConnectionError("client closed the connection mid-body")
            got += len(block)
            if sink is not None:
                sink += block
        return got

    def _read_body(self, limit: int | None) -> tuple[bytes, int, bool, bool]:
        """Return (body, bytes_read, too_large, chunked). Over-limit bodies are drained, not kept."""
        buf = bytearray()
        total = 0
        too_large = False

        def take(n: int) -> None:
            nonlocal total, too_large
            keep = not too_large and (limit is None or total + n <= limit)
            if not keep and not too_large:
                too_large = True
                buf.clear()  # free memory; only the count matters from here on
            self._read_exact(n, buf if keep else None)
            total += n

        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("client closed the connection mid-chunk")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError as exc:
                    raise ValueError(f"bad chunk size line {line!r}") from exc
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers are ignored
                    break
                # Chunks may be large; feed them to take() in blocks so the cap check stays cheap.
                left = size
                while left:
                    step = min(left, _READ_BLOCK)
                    take(step)
                    left -= step
                if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                    raise ValueError("chunk not followed by CRLF")
            return bytes(buf), total, too_large, True

        length_header = self.headers.get("Content-Length")
        length = int(length_header) if length_header else 0
        if length < 0:
            raise ValueError("negative Content-Length")
        left = length
        while left:
            step = min(left, _READ_BLOCK)
            take(step)
            left -= step
        return bytes(buf), total, too_large, False

    # -- request handling -------------------------------------------------------------------

    def _dispatch(self) -> None:
        fake = self.server.fake
        started = time.monotonic()
        split = urlsplit(self.path)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        try:
            body, size, too_large, chunked = self._read_body(fake.body_limit(self.command, split.path))
        except ValueError as exc:  # unparsable framing: answer 400 and give up on the connection
            self.close_connection = True
            self._send(Response.text(f"bad request framing: {exc}", 400))
            return
        except (ConnectionError, OSError, TimeoutError):
            self.close_connection = True
            return

        query_items = parse_qsl(split.query, keep_blank_values=True)
        req = RecordedRequest(
            method=self.command,
            path=split.path,
            target=self.path,
            query=dict(query_items),
            query_items=query_items,
            headers=headers,
            body=body,
            body_size=size,
            chunked=chunked,
            too_large=too_large,
            received_at=time.time(),
        )
        _parse_body(req)
        fault = fake._admit(req)

        try:
            resp, partial = fake._respond(req, fault)
        except _DropConnection:
            self.close_connection = True
            return
        fake.common_headers(req, resp, started)
        if fault is not None:
            # Fault headers are applied last so a test can override anything (e.g. remaining=0).
            resp.headers.update({k.lower(): v for k, v in fault.headers.items()})
        req.status = resp.status
        self._send(resp, partial=partial)

    def _send(self, resp: Response, partial: bool = False) -> None:
        self.send_response(resp.status)
        for name, value in resp.headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if not partial:
            self.wfile.write(resp.body)
            return
        # "reset" fault: half the promised body, then an abortive close (RST, no FIN) so the
        # client sees a broken transfer rather than a clean short read.
        self.wfile.write(resp.body[: max(1, len(resp.body) // 2)])
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


def _parse_body(req: RecordedRequest) -> None:
    """Fill json / form / files from the raw body according to its Content-Type."""
    if req.too_large or not req.body:
        return
    ctype = req.content_type.lower()
    if "json" in ctype:
        try:
            req.json = json.loads(req.body)
        except ValueError as exc:
            req.json_error = str(exc)
    elif ctype.startswith("multipart/form-data"):
        try:
            req.form_items, req.file_list = parse_multipart(req.body, req.content_type)
        except MultipartError as exc:
            req.form_error = str(exc)
            return
        req.form = dict(req.form_items)
        req.files = {f.field: f for f in req.file_list}
    elif ctype.startswith("application/x-www-form-urlencoded"):
        req.form_items = parse_qsl(req.body.decode("utf-8", errors="replace"), keep_blank_values=True)
        req.form = dict(req.form_items)


# --------------------------------------------------------------------------------------------
# The base class
# --------------------------------------------------------------------------------------------


class FakeServer:
    """Base of every loopback fake. Subclasses implement :meth:`route`."""

    server_header = "fake-provider"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._counts: Counter[str] = Counter()
        self._faults: list[_FaultSlot] = []
        self._every: tuple[int, Fault, str | None] | None = None  # (n, fault, route): every n-th request
        self._every_seen = 0
        self._conns: set[socket.socket] = set()
        self.errors: list[str] = []  # tracebacks of bugs inside the fake (asserted empty by tests)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self: _S) -> _S:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer(self, self._address)
        self._thread = threading.Thread(
            # A short poll interval keeps shutdown() (called by stop()) quick.
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{type(self).__name__}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers parked in hang/delay faults
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # unblock handler threads waiting on idle keep-alive connections
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        return f"http://{self._address[0]}:{self.port}"

    # -- request log ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise LookupError("no request received yet")
            return self._requests[-1]

    def requests_to(self, route: str | None = None, method: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if _route_matches(route, r.path) and (method is None or r.method == method.upper())
        ]

    def count(self, route: str | None = None) -> int:
        """Requests received whose path ends with ``route`` (all requests when None)."""
        with self._lock:
            return sum(n for path, n in self._counts.items() if _route_matches(route, path))

    @property
    def counts(self) -> dict[str, int]:
        """Requests received per exact path."""
        with self._lock:
            return dict(self._counts)

    def wait_for_requests(self, n: int, route: str | None = None, timeout: float = 2.0) -> bool:
        """Block until at least ``n`` matching requests arrived (for clients on other threads)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                got = sum(c for p, c in self._counts.items() if _route_matches(route, p))
                if got >= n:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)

    def clear_log(self) -> None:
        with self._lock:
            self._requests.clear()
            self._counts.clear()

    # -- faults -----------------------------------------------------------------------------

    def inject(self, fault: Fault, route: str | None = None, times: int | None = 1) -> None:
        """Queue ``fault`` for the next ``times`` requests whose path ends with ``route``.

        Faults are consumed in the order injected among those matching a request's path;
        ``times=None`` keeps the fault active until :meth:`clear_faults`.
        """
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        with self._lock:
            self._faults.append(_FaultSlot(_norm_route(route), fault, times))

    def inject_many(self, faults: Iterable[Fault], route: str | None = None) -> None:
        """Queue several one-shot faults in order, e.g. 429 then 503 then success."""
        for fault in faults:
            self.inject(fault, route=route)

    def fail_every(self, n: int | None, fault: Fault | None = None, route: str | None = None) -> None:
        """Give ``fault`` (default: a 500) to every ``n``-th request whose path ends with ``route``,
        counted from now; ``None`` switches it off. Queued one-shot faults come first."""
        with self._lock:
            self._every = None if n is None else (n, fault or Fault.http(500), _norm_route(route))
            self._every_seen = 0

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._every = None

    def pending_faults(self, route: str | None = None) -> int:
        """One-shot uses still queued (a ``times=None`` fault counts as 1)."""
        with self._lock:
            return sum(
                s.remaining or 1 for s in self._faults if route is None or s.route == _norm_route(route)
            )

    # -- hooks for subclasses ---------------------------------------------------------------

    def route(self, req: RecordedRequest) -> Response:
        """Produce the normal answer to ``req``."""
        raise NotImplementedError

    def body_limit(self, method: str, path: str) -> int | None:
        """Max request body bytes for this route; larger bodies are drained and flagged too_large."""
        return None

    def common_headers(self, req: RecordedRequest, resp: Response, started: float) -> None:
        """Add headers every response carries (request ids, rate-limit headers...). Use setdefault."""

    def fault_body(self, req: RecordedRequest, status: int) -> Response:
        """Provider-shaped error for a ``Fault(status=...)`` injected without a body."""
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return Response.json({"error": {"message": phrase}}, status)

    def empty_response(self, req: RecordedRequest) -> Response:
        """A 200 that carries no result (the ``empty`` fault)."""
        return Response.json({"data": []})

    def malformed_body(self, req: RecordedRequest) -> bytes:
        """Invalid JSON served with a JSON Content-Type (the ``malformed`` fault)."""
        return b'{"created": 1700000000, "data": [{"b64_json": "iVBORw0KGgo'

    # -- internals --------------------------------------------------------------------------

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _record_error(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)

    def _admit(self, req: RecordedRequest) -> Fault | None:
        """Log the request and pop the first queued fault that matches its path."""
        with self._changed:
            self._requests.append(req)
            self._counts[req.path] += 1
            fault = None
            for i, slot in enumerate(self._faults):
                if _route_matches(slot.route, req.path):
                    fault = slot.fault
                    if slot.remaining is not None:
                        slot.remaining -= 1
                        if slot.remaining == 0:
                            del self._faults[i]
                    break
            if fault is None and self._every is not None and _route_matches(self._every[2], req.path):
                self._every_seen += 1
                if self._every_seen % self._every[0] == 0:
                    fault = self._every[1]
            req.fault = fault
            self._changed.notify_all()
            return fault

    def _safe_route(self, req: RecordedRequest) -> Response:
        try:
            return self.route(req)
        except Exception:  # a bug in the fake must surface as a loud 500, not a hung client
            tb = traceback.format_exc()
            self._record_error(tb)
            return Response.json({"error": {"message": f"fake server bug:\n{tb}", "type": "fake_server_error"}}, 500)

    def _respond(self, req: RecordedRequest, fault: Fault | None) -> tuple[Response, bool]:
        """Apply ``fault`` (if any) and return (response, send_only_part_then_reset)."""
        if fault is None:
            return self._safe_route(req), False
        if fault.delay and self._stopping.wait(fault.delay):
            raise _DropConnection  # server stopping: do not answer
        if fault.hang:
            self._stopping.wait()
            raise _DropConnection
        if fault.status is not None:
            if fault.body is None:
                resp = self.fault_body(req, fault.status)
            elif isinstance(fault.body, (bytes, str)):
                data = fault.body.encode() if isinstance(fault.body, str) else fault.body
                resp = Response.raw(data, fault.content_type or "application/json")
            else:
                resp = Response.json(fault.body)
            resp.status = fault.status
            return resp, False
        if fault.empty:
            return self.empty_response(req), False
        if fault.malformed:
            return Response.raw(self.malformed_body(req), "application/json"), False
        if fault.reset:
            return self._safe_route(req), True
        return self._safe_route(req), False  # delay only


def _norm_route(route: str | None) -> str | None:
    if route is None:
        return None
    route = route.rstrip("/")
    return route if route.startswith("/") else "/" + route


def _route_matches(route: str | None, path: str) -> bool:
    if route is None:
        return True
    route = _norm_route(route) or ""
    return path.rstrip("/").endswith(route)
