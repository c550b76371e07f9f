"""A hostile OpenAI-compatible upstream: everything a broken or malicious server may send back.

Unlike the faithful fakes built on `_server.py` (whole responses with a Content-Length), this one
controls the socket: it trickles a body one byte a second, streams a body with no end, loops
redirects, echoes the caller's credentials into error bodies, and returns wrong shapes. It answers
any POST (images or transcriptions) per its `mode`; GETs under /files/ serve a tiny PNG so a reply
may point its image `url` at this same host.

Modes: echo-401, echo-400, echo-429, echo-500-text (the Authorization / api-key header sent back,
with escape sequences and several lines), trickle, redirect-loop, image-redirect-loop, endless-json,
json-list, data-not-list, data-strings, url-int, url-invalid, url-private, url-link-local,
url-self, url-numeric-loopback (this host as 2130706433), url-trickle, empty-transcript, escape-transcript, ok-image.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fakes.openai import png_bytes

ESCAPES = "\x1b]0;pwned\x07\x1b[2J"
_CHUNK = b" " * 65536


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, owner: HostileServer) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _drain(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                self.rfile.read(size + 2)
                if size == 0:
                    return
        self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes, ctype: str = "application/json", **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.hit(self.path)
        if self.path.startswith("/files/trickle"):
            self._trickle(png_bytes(8, 8, (200, 30, 30)), "image/png")
        elif self.path.startswith("/files/loop"):
            self._send(302, b"", Location=self.path)
        elif self.path.startswith("/files/"):
            self._send(200, png_bytes(8, 8, (200, 30, 30)), "image/png")
        else:
            self._send(404, b'{"error": {"message": "not here"}}')

    def do_POST(self) -> None:
        owner = self.server.owner
        owner.hit(self.path)
        self._drain()
        mode = owner.mode
        secret = self.headers.get("Authorization") or self.headers.get("api-key") or ""
        echo = f"invalid credentials {secret} {ESCAPES}\nsecond line\n\tthird line"
        if mode == "echo-401":
            self._send(401, json.dumps({"error": {"message": echo, "code": "invalid_api_key"}}).encode())
        elif mode == "echo-400":
            self._send(400, json.dumps({"error": {"message": echo, "param": secret}}).encode())
        elif mode == "echo-429":
            self._send(429, json.dumps({"error": {"message": echo}}).encode(), Retry_After="0")
        elif mode == "echo-500-text":
            self._send(500, echo.encode(), "text/plain")
        elif mode == "trickle":
            self._trickle()
        elif mode == "redirect-loop":
            self._send(307, b"", Location=self.path)
        elif mode == "endless-json":
            self._endless()
        else:
            self._send(200, json.dumps(self._payload(mode)).encode())

    def _payload(self, mode: str) -> Any:
        base = self.server.owner.url
        entry: dict[str, Any] = {
            "json-list": None, "data-not-list": None, "data-strings": None,
            "url-int": {"url": 5}, "url-invalid": {"url": "http://"},
            "url-private": {"url": "http://10.1.2.3/files/a.png"},
            "url-link-local": {"url": "http://169.254.169.254/latest/meta-data/"},
            "url-self": {"url": f"{base}/files/a.png"},
            "url-numeric-loopback": {"url": base.replace("127.0.0.1", "2130706433") + "/files/a.png"},
            "image-redirect-loop": {"url": f"{base}/files/loop"},
            "url-trickle": {"url": f"{base}/files/trickle.png"},
        }.get(mode, {})
        if mode == "json-list":
            return [{"url": f"{base}/files/a.png"}]
        if mode == "data-not-list":
            return {"data": {"url": f"{base}/files/a.png"}}
        if mode == "data-strings":
            return {"data": ["iVBORw0KGgo="]}
        if mode == "empty-transcript":
            return {"text": "  "}
        if mode == "escape-transcript":
            return {"text": f"hello {ESCAPES} world"}
        return {"created": 1, "data": [entry]}

    def _trickle(self, body: bytes = b"", ctype: str = "application/json") -> None:
        """Headers at once, then one byte a second: no single read ever waits long."""
        body = body or json.dumps({"data": [{"b64_json": "x" * 600}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        owner = self.server.owner
        for i in range(len(body)):
            if owner.stopping.wait(1.0):
                return
            try:
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
            except OSError:
                return

    def _endless(self) -> None:
        """A JSON body that never ends (chunked): counts what it sent until the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        owner = self.server.owner
        frame = b"%x\r\n" % len(_CHUNK) + _CHUNK + b"\r\n"
        try:
            self.wfile.write(b'1\r\n[\r\n')
            while not owner.stopping.is_set() and owner.sent < owner.endless_limit:
                self.wfile.write(frame)
                owner.sent += len(_CHUNK)
        except OSError:
            return


class HostileServer:
    def __init__(self, mode: str = "ok-image") -> None:
        self.mode = mode
        self.stopping = threading.Event()
        self.sent = 0
        self.endless_limit = 1 << 30  # 1 GiB: far past any cap, never reached when the client stops
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._httpd: _Server | None = None

    def hit(self, path: str) -> None:
        with self._lock:
            self.paths.append(path)

    def count(self, prefix: str = "/v1/") -> int:
        with self._lock:
            return sum(1 for p in self.paths if p.startswith(prefix))

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def __enter__(self) -> HostileServer:
        self._httpd = _Server(self)
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
