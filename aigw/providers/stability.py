"""Stability AI's wire protocol: POST /v2beta/stable-image/generate/{ultra|core|sd3}, one image each.

PROVIDERS.md §9, checked against:
- Stability's v2beta reference for Stable Image Core as copied in `gambithunt/imagen`
  (.github/instructions/sd_core.instructions.md): the body must be multipart/form-data; `accept` is
  `image/*` (raw bytes, the default) or `application/json` (base64); `aspect_ratio` enum 16:9 1:1 21:9
  2:3 3:2 4:5 5:4 9:16 9:21; `seed` 0..4294967294 (0 = random); `style_preset` enum; `output_format`
  jpeg|png|webp; prompt and negative_prompt up to 10,000 characters;
- LiteLLM `litellm/types/llms/stability.py`: the three paths, `model` for sd3, and the JSON answer
  `{"image", "finish_reason", "seed"}`;
- Stability's REST OpenAPI (v1) as embedded in `PipedreamHQ/pipedream`
  (packages/component_code_gen/example-instructions/dream-studio-text-to-image.md): `GET
  /v1/user/account` (operationId userAccount, "Get information about the account associated with the
  provided API key") is the free authenticated check; success carries `Finish-Reason` and `Seed`
  headers.

Multipart without a file: Stability's Python samples pass `files={"none": ''}` to `requests`, which
adds a dummy file part. httpx sends every field as a plain form part, and still as multipart, when
each value is given as `(None, value)` in `files` — no dummy part is needed (checked with httpx 0.28).

Accept: `image/*`. The image arrives as its own bytes (a third smaller than base64 in JSON, nothing to
decode), and `finish-reason` / `seed` come as headers; error bodies are JSON either way. A JSON answer
(a proxy that ignores Accept) is read too.

A 200 whose finish reason is CONTENT_FILTERED carries a blurred image: it is a refusal, never a result.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import re
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from aigw import __version__, errors
from aigw.providers._http import classify, json_body, sniff_image, translated
from aigw.providers.base import ProviderBase
from aigw.types import ImageBlob, ImageCall, ProviderImages
from aigw.providers._options import BY_MODEL, MAPPED, NOT_SENT, SENT, Support, not_sent
from aigw.providers._sizes import parse_ratio, parse_size

GENERATE_PATH = "/v2beta/stable-image/generate/"
ACCOUNT_PATH = "/v1/user/account"
SEED_MAX = 4_294_967_294
CFG_RANGE = (1.0, 10.0)
# The aspect ratios Stability takes, and the ~1 MP dimensions each is taken to stand for in aigw's
# WxH vocabulary (the SD3 resolution buckets; Stability does not publish exact output sizes).
ASPECTS: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024), "16:9": (1344, 768), "9:16": (768, 1344), "21:9": (1536, 640), "9:21": (640, 1536),
    "3:2": (1216, 832), "2:3": (832, 1216), "5:4": (1088, 896), "4:5": (896, 1088),
}
PRESETS = frozenset({
    "3d-model", "analog-film", "anime", "cinematic", "comic-book", "digital-art", "enhance", "fantasy-art",
    "isometric", "line-art", "low-poly", "modeling-compound", "neon-punk", "origami", "photographic",
    "pixel-art", "tile-texture",
})
RATE_TIMEOUT = re.compile(r"timed out for (\d+) seconds", re.IGNORECASE)


@dataclass(frozen=True)
class Endpoint:
    """What one Stability model takes."""

    path: str  # ultra | core | sd3
    model: str | None  # the sd3 `model` field
    formats: tuple[str, ...]
    styles: bool
    negative: bool
    cfg: bool


def endpoint(provider_model: str) -> Endpoint:
    name = provider_model.removeprefix("stable-image-")
    if name == "ultra":
        return Endpoint("ultra", None, ("png", "jpeg", "webp"), styles=False, negative=True, cfg=False)
    if name == "core":
        return Endpoint("core", None, ("png", "jpeg", "webp"), styles=True, negative=True, cfg=False)
    if name.startswith("sd3"):
        return Endpoint("sd3", name, ("png", "jpeg"), styles=True, negative="turbo" not in name, cfg=True)
    raise errors.UsageError(f"stability has no model '{provider_model}'",
                            hint="use ultra, core, sd3.5-large, sd3.5-large-turbo or sd3.5-medium")






def nearest_aspect(ratio: float) -> str:
    """The offered W:H closest to `ratio` (by the ratios themselves, not their nominal sizes)."""
    return min(ASPECTS, key=lambda a: abs(math.log(parse_ratio(a) or 1.0) - math.log(ratio)))


def _aspect(call: ImageCall, notes: list[str]) -> str:
    wh = parse_size(call.size)
    if call.aspect_ratio:
        asked = parse_ratio(call.aspect_ratio)
        if asked is None:
            raise errors.UsageError(f"bad aspect ratio {call.aspect_ratio}", hint="write it as W:H, e.g. 16:9")
        aspect = call.aspect_ratio if call.aspect_ratio in ASPECTS else nearest_aspect(asked)
        if aspect != call.aspect_ratio:
            notes.append(f"stability: aspect ratio {call.aspect_ratio} is not offered; using {aspect}")
        if wh and ASPECTS[aspect] != wh:
            notes.append(f"stability: takes an aspect ratio, not a size; size {call.size} not sent, aspect ratio {aspect} is")
        return aspect
    if wh is None:
        return "1:1"
    aspect = nearest_aspect(wh[0] / wh[1])
    if ASPECTS[aspect] != wh:
        w, h = ASPECTS[aspect]
        notes.append(f"stability: takes aspect ratios, not sizes; {call.size} -> aspect_ratio {aspect} ({w}x{h})")
    return aspect


def form_fields(call: ImageCall) -> tuple[dict[str, str], list[str], ImageCall]:
    """(the form for one image, warnings, the call as adjusted). Pure, so `prepare_image` and
    `generate` always agree; a prepared call maps onto itself with no new warnings."""
    ep = endpoint(call.provider_model)
    name = call.provider_model
    takes = {"negative_prompt": ep.negative, "style": ep.styles, "guidance": ep.cfg}
    honoured = {"size", "aspect_ratio", "n", "format", "seed", *(k for k, v in takes.items() if v)}
    call, notes = not_sent(call, honoured, name="stability", model=name)
    fields: dict[str, str] = {"prompt": call.prompt}
    if ep.model:
        fields["model"] = ep.model
    aspect = _aspect(call, notes)
    fields["aspect_ratio"] = aspect
    fmt = call.format or "png"
    if fmt not in ep.formats:
        notes.append(f"stability: {name} does not return {fmt}; using png")
        fmt = "png"
    fields["output_format"] = fmt
    if call.seed is not None:
        if not 0 <= call.seed <= SEED_MAX:
            raise errors.UsageError(f"stability takes seeds 0 to {SEED_MAX}, not {call.seed}",
                                    hint="pass --seed in that range (0 means random)")
        fields["seed"] = str(call.seed)
        if call.n > 1 and call.seed:
            used = seeds(call.seed, call.n)
            notes.append(f"stability: one image per request; -n {call.n} sends {call.n} requests with seeds "
                         f"{used[0]} to {used[-1]}")
    if call.negative_prompt is not None:
        fields["negative_prompt"] = call.negative_prompt
    if call.style is not None:
        if call.style in PRESETS:
            fields["style_preset"] = call.style
        else:
            notes.append(f"stability: style {call.style} is not one of {name}'s presets; not sent")
            call = call.model_copy(update={"style": None})
    if call.guidance is not None:
        cfg = min(max(call.guidance, CFG_RANGE[0]), CFG_RANGE[1])
        if cfg != call.guidance:
            notes.append(f"stability: {name} takes guidance (cfg_scale) 1 to 10; using {cfg:g}")
        fields["cfg_scale"] = f"{cfg:g}"
    w, h = ASPECTS[aspect]
    adjusted = call.model_copy(update={"size": f"{w}x{h}", "aspect_ratio": aspect, "format": fmt})
    return fields, notes, adjusted


def seeds(seed: int | None, n: int) -> list[int | None]:
    """A seed per request: the given one, then the next ones (wrapping), so -n 2 makes two images."""
    if not seed:
        return [seed] * n
    return [(seed + i) % (SEED_MAX + 1) for i in range(n)]


@dataclass
class _One:
    data: bytes
    sent: int
    received: int
    status: int


class StabilityProvider(ProviderBase):
    kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    default_base_url: ClassVar[str] = "https://api.stability.ai"
    image_options: ClassVar[dict[str, Support]] = {
        "size": MAPPED, "aspect_ratio": MAPPED, "quality": NOT_SENT, "style": BY_MODEL, "n": SENT, "format": MAPPED,
        "seed": SENT, "negative_prompt": BY_MODEL, "steps": NOT_SENT, "guidance": BY_MODEL,
    }
    path_versions: ClassVar[tuple[str, ...]] = ("/v2beta", "/v1")

    def headers(self, accept: str = "image/*") -> dict[str, str]:
        out = {"Accept": accept, "stability-client-id": "aigw", "stability-client-version": __version__}
        out.update(self.settings.headers or {})
        if self.api_key:
            out["Authorization"] = f"Bearer {self.api_key}"
        return out

    def prepare_image(self, call: ImageCall) -> tuple[ImageCall, list[str]]:
        _, notes, call = form_fields(call)
        return call, notes

    async def generate(self, call: ImageCall, *, timeout: float) -> ProviderImages:
        fields, _, call = form_fields(call)
        url = self.endpoint(GENERATE_PATH + endpoint(call.provider_model).path)
        requests = []
        for seed in seeds(call.seed, call.n):
            one = dict(fields)
            if seed is not None:
                one["seed"] = str(seed)
            requests.append(asyncio.ensure_future(self._one(url, one, timeout=timeout)))
        try:
            done = await asyncio.gather(*requests)
        except BaseException:
            # One failed (or the user pressed Ctrl-C): stop the others rather than pay for them unseen.
            for task in requests:
                task.cancel()
            await asyncio.gather(*requests, return_exceptions=True)
            raise
        images = [ImageBlob(data=d.data, ext=sniff_image(d.data) or call.format or "png") for d in done]
        return ProviderImages(images=images, usage=None, bytes_up=sum(d.sent for d in done),
                              bytes_down=sum(d.received for d in done), http_status=done[-1].status)

    async def _one(self, url: str, fields: dict[str, str], *, timeout: float) -> _One:
        # (None, value) parts: multipart/form-data with no file, as Stability requires.
        parts = {key: (None, value) for key, value in fields.items()}
        with translated(self.name):
            resp = await self.http.post(url, files=parts, headers=self.headers(), timeout=timeout)
        if resp.status_code >= 400:
            raise self._error(resp)
        data, finish = self._image(resp)
        if finish == "CONTENT_FILTERED":
            raise errors.ContentRefusedError(
                f"{self.name}: the image was withheld by Stability's content filter (finish-reason CONTENT_FILTERED)",
                provider=self.name, status=resp.status_code, code="CONTENT_FILTERED")
        if finish not in (None, "SUCCESS"):
            raise errors.EmptyResultError(f"{self.name}: generation ended with finish-reason {finish}",
                                          provider=self.name, status=resp.status_code)
        sent = int(resp.request.headers.get("content-length") or 0) if resp.request else 0
        return _One(data, sent, len(resp.content), resp.status_code)

    def _image(self, resp: httpx.Response) -> tuple[bytes, str | None]:
        """(image bytes, finish reason) from either answer: raw bytes with headers, or JSON."""
        ctype = resp.headers.get("content-type", "").lower()
        if "json" in ctype:
            payload = json_body(resp, self.name)
            if not isinstance(payload, dict):
                raise errors.EmptyResultError(f"{self.name}: 200 with no image", provider=self.name, status=resp.status_code)
            finish = payload.get("finish_reason")
            try:
                data = base64.b64decode(payload.get("image") or "", validate=False)
            except (binascii.Error, ValueError) as exc:
                raise errors.EmptyResultError(f"{self.name}: 'image' is not base64", provider=self.name) from exc
        else:
            finish = resp.headers.get("finish-reason")
            data = resp.content
        finish = str(finish).upper() if finish else None
        if finish != "CONTENT_FILTERED" and sniff_image(data) is None:
            raise errors.EmptyResultError(f"{self.name}: 200 with no image ({len(data)} bytes, {ctype or 'no type'})",
                                          provider=self.name, status=resp.status_code)
        return data, finish

    def _error(self, resp: httpx.Response) -> errors.ProviderError:
        err = classify(resp, self.name)
        if isinstance(err, errors.RateLimitedError) and err.retry_after is None:
            # "...have been timed out for 60 seconds." and no Retry-After header (PROVIDERS.md §9).
            found = RATE_TIMEOUT.search(err.message)
            if found:
                err.retry_after = float(found.group(1))
        return err

    async def check(self, *, timeout: float) -> dict[str, Any]:
        """GET /v1/user/account: free and authenticated."""
        started = self.clock.monotonic()
        try:
            with translated(self.name):
                resp = await self.http.get(self.endpoint(ACCOUNT_PATH), headers=self.headers("application/json"),
                                           timeout=timeout)
        except errors.ProviderError as exc:
            return {"reachable": False, "key_accepted": None, "latency_ms": None, "detail": exc.message}
        latency = round((self.clock.monotonic() - started) * 1000, 1)
        accepted = False if resp.status_code in (401, 403) else (True if resp.status_code < 400 else None)
        return {"reachable": True, "key_accepted": accepted, "latency_ms": latency,
                "detail": f"GET {ACCOUNT_PATH} -> HTTP {resp.status_code}"}
