"""Provenance inside a result: who made it, from what, at what cost, in which run.

Written at the byte level, never re-encoding pixels (no imaging library at runtime):

- PNG: one `iTXt` chunk (UTF-8) per field, keyword `aigw:<field>`, inserted before `IEND`;
- JPEG: an XMP packet in an APP1 segment after the leading APPn segments;
- WebP: an XMP packet in an `XMP ` chunk, the file made extended (`VP8X`, its XMP flag set);
- JSON transcripts: the fields under the top-level key `aigw`, the provider's own keys untouched;
  text, SRT and VTT transcripts are left as they are (the run log has their run).

A format that cannot carry them (GIF, SVG, bytes of unknown shape) gets a sidecar `<file>.json`
instead, and so does an image that already carries C2PA content credentials: those are signed over
the file's bytes, and adding a chunk would make the provider's signature fail to verify.

`read_run_id()` reads the run id back from any of these, for `aigw logs --for`.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Mapping
from typing import Any

NAMESPACE = "urn:aigw:provenance:1.0/"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
XMP_JPEG_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
MAX_JPEG_SEGMENT = 65533  # an APPn segment's payload is at most 2**16 - 1 bytes, its length field included
WEBP_XMP_FLAG = 0x04
WEBP_ALPHA_FLAG = 0x10
JSON_KEY = "aigw"
PLAIN_TRANSCRIPTS = ("txt", "srt", "vtt")
IMAGE_FIELDS = ("run_id", "model", "provider", "prompt", "negative_prompt", "seed", "size", "cost_usd")


class CannotCarry(ValueError):
    """These bytes cannot take embedded provenance: a sidecar holds it instead."""


def image_fields(*, run_id: str, model: str, provider: str, call: Any, cost_usd: float | None) -> dict[str, Any]:
    """The fields of one generated image: `call` is the ImageCall that was sent (its prompt, with
    presets and enhancers applied, is the prompt that made the image)."""
    return {"run_id": run_id, "model": model, "provider": provider, "prompt": call.prompt,
            "negative_prompt": call.negative_prompt, "seed": call.seed, "size": call.size, "cost_usd": cost_usd}


def transcript_fields(*, run_id: str, model: str, provider: str, call: Any, cost_usd: float | None,
                      file: str | None) -> dict[str, Any]:
    return {"run_id": run_id, "model": model, "provider": provider, "prompt": call.prompt, "file": file,
            "language": call.language, "cost_usd": cost_usd}


def embed(data: bytes, ext: str, fields: Mapping[str, Any]) -> bytes:
    """`data` with the fields inside; raises CannotCarry when the format cannot hold them (the
    caller then writes sidecar(fields) beside the file). Fields whose value is None are left out."""
    present = {k: v for k, v in fields.items() if v is not None}
    kind = ext.lower()
    if kind == "png":
        return _png(data, present)
    if kind in ("jpeg", "jpg"):
        return _jpeg(data, present)
    if kind == "webp":
        return _webp(data, present)
    if kind == "json":
        return embed_json(data.decode("utf-8"), fields).encode("utf-8")
    if kind in PLAIN_TRANSCRIPTS:
        return data  # nowhere to put it and no need of a sidecar: the run log has the run
    raise CannotCarry(f"{ext} has no place for metadata")


def sidecar(fields: Mapping[str, Any]) -> bytes:
    """The `<file>.json` written beside a result that cannot carry its provenance."""
    return (json.dumps({JSON_KEY: dict(fields)}, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def embed_json(body: str, fields: Mapping[str, Any]) -> str:
    """A JSON transcript with the fields under `aigw` (every key present, null when unknown);
    anything but a JSON object is returned unchanged. Indented bodies stay indented."""
    try:
        value = json.loads(body)
    except ValueError:
        return body
    if not isinstance(value, dict):
        return body
    value[JSON_KEY] = dict(fields)
    if "\n" in body.strip():
        return json.dumps(value, ensure_ascii=False, indent=2)
    return json.dumps(value, ensure_ascii=False)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


# ---- PNG ----------------------------------------------------------------------------------------


def _png_chunks(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, type) of every chunk up to and including IEND; CannotCarry when it is not a PNG."""
    if not data.startswith(PNG_SIGNATURE):
        raise CannotCarry("not a PNG")
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        chunks.append((pos, kind))
        if kind == b"IEND":
            return chunks
        pos += 12 + length
    raise CannotCarry("a PNG without IEND")


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _png(data: bytes, fields: Mapping[str, Any]) -> bytes:
    chunks = _png_chunks(data)
    if any(kind == b"caBX" for _, kind in chunks):
        raise CannotCarry("the PNG carries C2PA content credentials")
    iend = chunks[-1][0]
    # iTXt: keyword, NUL, compression flag 0, method 0, empty language tag, NUL, empty translated keyword, NUL, UTF-8
    added = b"".join(_png_chunk(b"iTXt", f"aigw:{key}".encode("latin-1") + b"\x00\x00\x00\x00\x00"
                                + _text(value).encode("utf-8")) for key, value in fields.items())
    return data[:iend] + added + data[iend:]


def _png_fields(data: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    for pos, kind in _png_chunks(data):
        if kind not in (b"iTXt", b"tEXt"):
            continue
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        payload = data[pos + 8:pos + 8 + length]
        keyword, _, rest = payload.partition(b"\x00")
        if not keyword.startswith(b"aigw:"):
            continue
        if kind == b"iTXt":
            if rest[:1] != b"\x00":
                continue  # compressed: aigw never writes those
            text = rest[2:].split(b"\x00", 2)[-1].decode("utf-8", errors="replace")
        else:
            text = rest.decode("latin-1")
        found[keyword[5:].decode("latin-1")] = text
    return found


# ---- XMP (JPEG, WebP) ---------------------------------------------------------------------------


def _escape(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;"))


def xmp_packet(fields: Mapping[str, Any]) -> bytes:
    attributes = "".join(f'\n   aigw:{key}="{_escape(_text(value))}"' for key, value in fields.items())
    return (f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            f'<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
            f' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
            f'  <rdf:Description rdf:about="" xmlns:aigw="{NAMESPACE}"{attributes}/>\n'
            f' </rdf:RDF>\n</x:xmpmeta>\n<?xpacket end="r"?>').encode("utf-8")


_XMP_ATTR = re.compile(rb'aigw:([a-z_]+)="([^"]*)"')
_XMP_ELEMENT = re.compile(rb"<aigw:([a-z_]+)>([^<]*)</aigw:\1>")  # the form other tools may rewrite it to


def _xmp_fields(packet: bytes) -> dict[str, str]:
    import html

    found = {}
    for pattern in (_XMP_ATTR, _XMP_ELEMENT):
        for key, value in pattern.findall(packet):
            found[key.decode()] = html.unescape(value.decode("utf-8", errors="replace"))
    return found


# ---- JPEG ---------------------------------------------------------------------------------------


def _jpeg_segments(data: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, marker, payload) of the segments before the first non-APPn segment; the last entry
    is that segment's offset with marker 0 (where an APPn may be inserted)."""
    if not data.startswith(b"\xff\xd8"):
        raise CannotCarry("not a JPEG")
    out, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if not 0xE0 <= marker <= 0xEF:
            out.append((pos, 0, b""))
            return out
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        out.append((pos, marker, data[pos + 4:pos + 2 + length]))
        pos += 2 + length
    raise CannotCarry("a JPEG whose header segments could not be read")


def _jpeg(data: bytes, fields: Mapping[str, Any]) -> bytes:
    segments = _jpeg_segments(data)
    if any(marker == 0xEB and b"c2pa" in payload for _, marker, payload in segments):  # APP11 JUMBF
        raise CannotCarry("the JPEG carries C2PA content credentials")
    payload = XMP_JPEG_HEADER + xmp_packet(fields)
    if len(payload) + 2 > MAX_JPEG_SEGMENT:
        raise CannotCarry("the metadata is larger than a JPEG segment")
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    # After the leading APP0 (JFIF) / APP1 (Exif) segments, where readers expect XMP; an existing
    # XMP packet is replaced (a file has one).
    at = segments[-1][0]
    kept = b"".join(data[pos:pos + 4 + len(p)] for pos, marker, p in segments[:-1]
                    if not (marker == 0xE1 and p.startswith(XMP_JPEG_HEADER)))
    return data[:2] + kept + segment + data[at:]


def _jpeg_fields(data: bytes) -> dict[str, str]:
    for _, marker, payload in _jpeg_segments(data):
        if marker == 0xE1 and payload.startswith(XMP_JPEG_HEADER):
            return _xmp_fields(payload)
    return {}


# ---- WebP ---------------------------------------------------------------------------------------


def _webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise CannotCarry("not a WebP")
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        kind, (size,) = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])
        if pos + 8 + size > len(data):
            raise CannotCarry("a WebP chunk runs past the end of the file")
        chunks.append((kind, data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return chunks


def _webp_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")


def _canvas(kind: bytes, payload: bytes) -> tuple[int, int, bool]:
    """(width, height, alpha) of a simple WebP's bitstream, for the VP8X header it is given."""
    if kind == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", payload[6:10])
        return width & 0x3FFF, height & 0x3FFF, False
    if kind == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        (bits,) = struct.unpack("<I", payload[1:5])
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool((bits >> 28) & 1)
    raise CannotCarry("a WebP bitstream of unknown shape")


def _webp(data: bytes, fields: Mapping[str, Any]) -> bytes:
    chunks = [(k, p) for k, p in _webp_chunks(data) if k != b"XMP "]
    if any(kind == b"C2PA" for kind, _ in chunks):
        raise CannotCarry("the WebP carries C2PA content credentials")
    if chunks and chunks[0][0] == b"VP8X":
        flagged = bytearray(chunks[0][1])
        flagged[0] |= WEBP_XMP_FLAG
        chunks[0] = (b"VP8X", bytes(flagged))
    elif chunks:
        width, height, alpha = _canvas(*chunks[0])
        flags = WEBP_XMP_FLAG | (WEBP_ALPHA_FLAG if alpha else 0)
        head = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        chunks.insert(0, (b"VP8X", head))
    else:
        raise CannotCarry("a WebP with no image")
    # XMP comes last in an extended WebP (after the image data and any EXIF).
    body = b"WEBP" + b"".join(_webp_chunk(k, p) for k, p in chunks) + _webp_chunk(b"XMP ", xmp_packet(fields))
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _webp_fields(data: bytes) -> dict[str, str]:
    for kind, payload in _webp_chunks(data):
        if kind == b"XMP ":
            return _xmp_fields(payload)
    return {}


# ---- reading back -------------------------------------------------------------------------------


def read_fields(data: bytes) -> dict[str, str]:
    """The provenance fields a file carries (values as text), {} when it carries none."""
    readers = {b"\x89P": _png_fields, b"\xff\xd8": _jpeg_fields, b"RI": _webp_fields}
    reader = readers.get(data[:2])
    if reader is not None:
        try:
            return reader(data)
        except (CannotCarry, struct.error):
            return {}
    try:
        value = json.loads(data)
    except ValueError:
        return {}
    found = value.get(JSON_KEY) if isinstance(value, dict) else None
    return {k: _text(v) for k, v in found.items() if v is not None} if isinstance(found, dict) else {}


def read_run_id(data: bytes) -> str | None:
    return read_fields(data).get("run_id") or None
