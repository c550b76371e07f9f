"""Provenance written at the byte level: Pillow (a test dependency only) reads it back, and the
decoded pixels are exactly those of the image before."""

from __future__ import annotations

import io
import json
import struct
import xml.etree.ElementTree as ET
import zlib

import pytest
from PIL import Image

from aigw.store import provenance

FIELDS = {"run_id": "20261206-031500-123-abcdef", "model": "gpt-image-2", "provider": "openai",
          "prompt": 'a "red" apple <on> a table & more\nsecond line, café', "negative_prompt": None,
          "seed": 7, "size": "64x48", "cost_usd": 0.011}


def encoded(fmt: str, mode: str = "RGB", **save: object) -> bytes:
    image = Image.new(mode, (64, 48), (200, 30, 40, 128)[: len(mode)])
    for x in range(0, 64, 3):  # some structure, so that a re-encode would show
        image.putpixel((x, x % 48), (x * 4, 255 - x, 17, 255)[: len(mode)])
    buf = io.BytesIO()
    image.save(buf, fmt, **save)
    return buf.getvalue()


def pixels(data: bytes) -> tuple[str, tuple[int, int], bytes]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.mode, image.size, image.tobytes()


def xmp_attributes(packet: bytes) -> dict[str, str]:
    description = ET.fromstring(packet.decode("utf-8").split("?>", 1)[1].rsplit("<?xpacket", 1)[0]).find(
        ".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    assert description is not None
    prefix = "{" + provenance.NAMESPACE + "}"
    return {k[len(prefix):]: v for k, v in description.attrib.items() if k.startswith(prefix)}


def test_png_carries_every_field_in_itxt_chunks_and_the_same_pixels():
    before = encoded("PNG")
    after = provenance.embed(before, "png", FIELDS)
    with Image.open(io.BytesIO(after)) as image:
        image.load()
        text = image.text  # type: ignore[attr-defined]
    assert text["aigw:run_id"] == FIELDS["run_id"] and text["aigw:prompt"] == FIELDS["prompt"]
    assert text["aigw:seed"] == "7" and text["aigw:cost_usd"] == "0.011" and "aigw:negative_prompt" not in text
    assert pixels(after) == pixels(before)
    assert after.endswith(before[-12:])  # IEND stays last


def test_png_chunk_crcs_are_right():
    after = provenance.embed(encoded("PNG"), "png", FIELDS)
    pos = 8
    while pos < len(after):
        (length,) = struct.unpack(">I", after[pos:pos + 4])
        body = after[pos + 4:pos + 8 + length]
        assert struct.unpack(">I", after[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(body), body[:4]
        pos += 12 + length
    assert pos == len(after)


@pytest.mark.parametrize("fmt,ext", [("JPEG", "jpeg"), ("WEBP", "webp")])
def test_jpeg_and_webp_carry_xmp_and_the_same_pixels(fmt, ext):
    before = encoded(fmt, quality=80)
    after = provenance.embed(before, ext, FIELDS)
    with Image.open(io.BytesIO(after)) as image:
        packet = image.info["xmp"]
    found = xmp_attributes(packet)
    assert found["run_id"] == FIELDS["run_id"] and found["prompt"] == FIELDS["prompt"] and found["size"] == "64x48"
    assert pixels(after) == pixels(before)
    assert provenance.read_run_id(after) == FIELDS["run_id"]
    assert provenance.read_fields(after)["prompt"] == FIELDS["prompt"]


@pytest.mark.parametrize("mode,save", [("RGBA", {"lossless": True}), ("RGB", {"lossless": True}),
                                        ("RGBA", {"quality": 70})])
def test_webp_of_every_shape_becomes_extended_with_the_xmp_flag(mode, save):
    before = encoded("WEBP", mode, **save)
    after = provenance.embed(before, "webp", FIELDS)
    assert after[12:16] == b"VP8X" and after[20] & provenance.WEBP_XMP_FLAG
    assert struct.unpack("<I", after[4:8])[0] == len(after) - 8
    assert pixels(after) == pixels(before)
    assert provenance.read_run_id(after) == FIELDS["run_id"]


def test_embedding_twice_keeps_one_xmp_packet():
    once = provenance.embed(encoded("JPEG"), "jpeg", FIELDS)
    twice = provenance.embed(once, "jpeg", {**FIELDS, "run_id": "other"})
    assert twice.count(provenance.XMP_JPEG_HEADER) == 1 and provenance.read_run_id(twice) == "other"


def test_an_image_with_c2pa_credentials_or_an_unknown_format_cannot_carry_it():
    png = encoded("PNG")
    signed = png[:33] + provenance._png_chunk(b"caBX", b"jumbf c2pa manifest") + png[33:]
    for data, ext in ((signed, "png"), (b"GIF89a....", "gif"), (b"<svg xmlns='x'/>", "svg"), (b"junk", "png")):
        with pytest.raises(provenance.CannotCarry):
            provenance.embed(data, ext, FIELDS)
    assert json.loads(provenance.sidecar(FIELDS))["aigw"]["run_id"] == FIELDS["run_id"]


def test_json_transcripts_keep_the_provider_keys_and_gain_aigw():
    body = '{"text": "hello", "usage": {"type": "duration", "seconds": 5}}'
    out = json.loads(provenance.embed_json(body, {**FIELDS, "negative_prompt": None}))
    assert out["text"] == "hello" and out["usage"] == {"type": "duration", "seconds": 5}
    assert out["aigw"]["run_id"] == FIELDS["run_id"] and out["aigw"]["negative_prompt"] is None
    assert provenance.read_run_id(json.dumps(out).encode()) == FIELDS["run_id"]
    assert provenance.embed_json("[1, 2]", FIELDS) == "[1, 2]"  # not an object: left alone
    assert "\n" in provenance.embed_json('{\n  "text": "x"\n}', FIELDS)  # an indented body stays indented
    for ext in ("txt", "srt", "vtt"):  # plain transcripts: unchanged, and no sidecar either
        assert provenance.embed(b"1\n00:00:00,000 --> 00:00:01,000\nhi\n", ext, FIELDS).endswith(b"hi\n")


def test_nothing_is_read_from_files_without_provenance():
    assert provenance.read_run_id(encoded("PNG")) is None
    assert provenance.read_run_id(b"just text") is None
    assert provenance.read_run_id(b"\x89PNG broken") is None
