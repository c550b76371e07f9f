"""A minimal, fast fake of OpenAI's POST /v1/images/generations, for benchmarks only.

The test-suite's fake (tests/fakes/openai.py) is a faithful stdlib ThreadingHTTPServer: one thread
per connection, full request parsing and validation. At 32 concurrent clients it costs more CPU per
request than the client under test, so it would measure itself. This one answers every POST whose
path ends in /images/generations with the same precomputed bytes, straight from an asyncio Protocol
(no HTTP framework, no JSON parsing, keep-alive), and runs in its own process so that client and
server do not share a GIL.

Run it alone:    python benchmarks/fastfake.py --listen ok --listen 500
It prints one line per listener, "READY <mode> <port>", then serves until killed.

Modes:  ok   200 with {"created", "data": [{"b64_json": <a small PNG>}], "usage"}
        500  500 with OpenAI's server_error body
GET /__count answers {"images": <image requests this listener has answered>} (asyncio server only).
`--server uvicorn` serves the same bytes through uvicorn + starlette instead (slower; for comparison).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path


def png_bytes(width: int, height: int, rgb: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height, 9)) + chunk(b"IEND", b""))


def ok_body(image_px: int) -> bytes:
    return json.dumps({
        "created": 1763856000,
        "data": [{"b64_json": base64.b64encode(png_bytes(image_px, image_px)).decode()}],
        "usage": {"input_tokens": 12, "input_tokens_details": {"text_tokens": 12, "image_tokens": 0},
                  "output_tokens": 272, "total_tokens": 284},
    }).encode()


ERROR_500 = json.dumps({"error": {"message": "The server had an error while processing your request. Sorry about that!",
                                  "type": "server_error", "param": None, "code": None}}).encode()
NOT_FOUND = json.dumps({"error": {"message": "Invalid URL", "type": "invalid_request_error",
                                  "param": None, "code": None}}).encode()


def response(status: int, reason: str, body: bytes) -> bytes:
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nx-request-id: req_fastfake\r\n\r\n")
    return head.encode() + body


# ---- raw asyncio server ------------------------------------------------------------------------


class _Conn(asyncio.Protocol):
    def __init__(self, answer: bytes, counter: list[int]) -> None:
        self.answer = answer
        self.counter = counter
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
                    break
            total = end + 4 + length
            if len(self.buf) < total:
                return
            del self.buf[:total]
            target = head.split(" ", 2)[1] if " " in head else ""
            path = target.split("?", 1)[0]
            assert self.transport is not None
            if path.endswith("/images/generations"):
                self.counter[0] += 1
                self.transport.write(self.answer)
            elif path == "/__count":
                self.transport.write(response(200, "OK", json.dumps({"images": self.counter[0]}).encode()))
            else:
                self.transport.write(response(404, "Not Found", NOT_FOUND))


async def serve_asyncio(modes: list[str], image_px: int, host: str = "127.0.0.1") -> None:
    loop = asyncio.get_running_loop()
    servers = []
    for mode in modes:
        answer = response(200, "OK", ok_body(image_px)) if mode == "ok" else response(500, "Internal Server Error", ERROR_500)
        counter = [0]
        server = await loop.create_server(lambda a=answer, c=counter: _Conn(a, c), host, 0, backlog=1024,
                                          reuse_address=True)
        servers.append(server)
        print(f"READY {mode} {server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


# ---- uvicorn + starlette (optional) ------------------------------------------------------------


def serve_uvicorn(modes: list[str], image_px: int) -> None:
    import socket

    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def main() -> None:
        tasks = []
        for mode in modes:
            body, status = (ok_body(image_px), 200) if mode == "ok" else (ERROR_500, 500)

            async def images(request, body=body, status=status):  # type: ignore[no-untyped-def]
                await request.body()
                return Response(body, status_code=status, media_type="application/json")

            app = Starlette(routes=[Route("/v1/images/generations", images, methods=["POST"])])
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", 0))
            sock.listen(1024)  # connections queue until uvicorn accepts, so READY is true at once
            config = uvicorn.Config(app, log_level="error", access_log=False, backlog=1024)
            server = uvicorn.Server(config)
            tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
            print(f"READY {mode} {sock.getsockname()[1]}", flush=True)
        await asyncio.gather(*tasks)

    asyncio.run(main())


# ---- starting it from a benchmark ---------------------------------------------------------------


@dataclass
class FastFake:
    """A fake server process; `ports[mode]` is where each listener is. Use as a context manager."""

    modes: tuple[str, ...] = ("ok",)
    server: str = "asyncio"
    image_px: int = 64

    def __enter__(self) -> FastFake:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--server", self.server, "--image-px", str(self.image_px)]
        for mode in self.modes:
            cmd += ["--listen", mode]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.ports: dict[str, int] = {}
        assert self.proc.stdout is not None
        while len(self.ports) < len(self.modes):
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"fake server exited with {self.proc.wait()}")
            _, mode, port = line.split()
            self.ports[mode] = int(port)
        return self

    def url(self, mode: str = "ok") -> str:
        return f"http://127.0.0.1:{self.ports[mode]}/v1"

    def count(self, mode: str = "ok") -> int:
        """Image requests this listener has answered so far."""
        import urllib.request

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never a proxy
        with opener.open(f"http://127.0.0.1:{self.ports[mode]}/__count", timeout=5) as resp:
            return int(json.loads(resp.read())["images"])

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", action="append", choices=["ok", "500"], help="a listener (repeatable); default ok")
    parser.add_argument("--server", choices=["asyncio", "uvicorn"], default="asyncio")
    parser.add_argument("--image-px", type=int, default=64, help="side of the square PNG returned (default 64)")
    args = parser.parse_args()
    modes = args.listen or ["ok"]
    if hasattr(os, "sched_setaffinity") and os.environ.get("FASTFAKE_CPU"):
        os.sched_setaffinity(0, {int(os.environ["FASTFAKE_CPU"])})
    try:
        if args.server == "uvicorn":
            serve_uvicorn(modes, args.image_px)
        else:
            asyncio.run(serve_asyncio(modes, args.image_px))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
