"""A fake of Together AI's image-generation and transcription API (PROVIDERS.md §8 and §12.3).

Surface:

* ``POST /v1/images/generations`` (JSON): model (FLUX.1-schnell, FLUX.1.1-pro, FLUX.1-schnell-Free,
  FLUX.1-dev), prompt, width/height (64-2048, default 1024), n (1-4), steps (schnell 1-12), seed,
  negative_prompt, guidance_scale, output_format jpeg | png (default jpeg), ``response_format`` base64
  | url (``b64_json`` is a 400: the mistake §12.2 warns of), disable_safety_checker, image_url,
  image_loras; unknown fields are a 400. Answers ``{"id", "model", "object": "list", "data": [{"index",
  "type": "b64_json", "b64_json"} | {"index", "type": "url", "url"}]}`` with real JPEG/PNG images,
  URLs served by the fake itself under ``/imgproxy/``;
* ``POST /v1/audio/transcriptions`` and ``/v1/audio/translations`` (multipart, FakeOpenAI's checks) with
  ``openai/whisper-large-v3``: response_format json | verbose_json only, language ISO-639-1 or ``auto``,
  ``timestamp_granularities`` as one value or ``[]`` list, no ``usage`` in answers, 80 MiB body cap (413);
* ``GET /v1/models``: a JSON array of model objects (the check);
* ``Authorization: Bearer``; errors ``{"error": {"message", "type", "param", "code"}}``.

Sources: ``togethercomputer/together-py`` src/together/types/image_generate_params.py (image fields and
enums), src/together/resources/images.py (path), src/together/resources/audio/transcriptions.py (fields,
80 MB / 4 h limits), src/together/types/audio/transcription_create_response.py (answer shapes);
``togethercomputer/together-python`` src/together/resources/images.py (default 1024x1024) and
src/together/generated/docs/ErrorDataError.md (error body).
⚠ Not confirmed from an official source and chosen here: size bounds, n <= 4, the schnell step cap, the
error messages, the models list as a bare array, and that FLUX.1-dev is served.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import threading
import uuid
from typing import Any, Literal

from ._server import RecordedRequest, Response
from .openai import AudioModel, FakeOpenAI, OpenAIError, _bad, _int_field, _invalid_type, _invalid_value, _json_object, png_bytes

TOGETHER_MAX_BODY_BYTES = 80 * 1024 * 1024
WHISPER = "openai/whisper-large-v3"
IMAGE_MODELS = {
    "black-forest-labs/FLUX.1-schnell": (1, 12),
    "black-forest-labs/FLUX.1-schnell-Free": (1, 4),
    "black-forest-labs/FLUX.1.1-pro": (1, 50),
    "black-forest-labs/FLUX.1-dev": (1, 50),
}
_IMAGE_FIELDS = {"model", "prompt", "width", "height", "n", "steps", "seed", "negative_prompt", "guidance_scale",
                 "output_format", "response_format", "disable_safety_checker", "image_url", "image_loras",
                 "reference_images"}


class FakeTogether(FakeOpenAI):
    """Use ``fake.url`` (the host) as TOGETHER_BASE_URL; ``fake.base_url`` is ``{url}/v1``."""

    server_header = "cloudflare"

    def __init__(self, *, max_body_bytes: int | None = TOGETHER_MAX_BODY_BYTES, **kwargs: Any) -> None:
        super().__init__(prefix="/v1", max_body_bytes=max_body_bytes, **kwargs)
        self.image_models = {}
        self.audio_models = {WHISPER: AudioModel(WHISPER, frozenset({"json", "verbose_json"}), "duration",
                                                 translations=True, stream=False)}
        self.retired_models = set()
        self.served_images: dict[str, bytes] = {}
        self._lock_images = threading.Lock()
        self._routes[("POST", self.images_path)] = self._together_images

    def current_models(self) -> list[str]:
        return [*IMAGE_MODELS, *self.audio_models]

    def common_headers(self, req: RecordedRequest, resp: Response, started: float) -> None:
        resp.headers.setdefault("x-request-id", uuid.uuid4().hex)
        resp.headers.setdefault("x-ratelimit-remaining", "0" if resp.status == 429 else "599")
        if resp.status == 429:
            resp.headers.setdefault("retry-after", "1")

    def _route(self, req: RecordedRequest) -> Response:
        if req.method == "GET" and req.path.startswith("/imgproxy/"):
            with self._lock_images:
                data = self.served_images.get(req.path.rsplit("/", 1)[-1])
            if data is None:
                return Response.text("not found", 404)
            return Response.raw(data, "image/png" if data.startswith(b"\x89PNG") else "image/jpeg")
        return super()._route(req)

    def _list_models(self, req: RecordedRequest) -> Response:
        kinds = {WHISPER: "audio"}
        return Response.json([{"id": n, "object": "model", "created": 1_700_000_000, "type": kinds.get(n, "image"),
                               "organization": "Black Forest Labs"} for n in self.current_models()])

    def _check_model_available(self, name: str) -> None:
        if name not in IMAGE_MODELS and name not in self.audio_models:
            raise OpenAIError(404, f"Unable to access model {name}. Please visit https://api.together.ai/models "
                                   "to view the list of supported models.", param="model", code="model_not_available")

    # -- images ------------------------------------------------------------------------------

    def _together_images(self, req: RecordedRequest) -> Response:
        body = _json_object(req)
        for key in body:
            if key not in _IMAGE_FIELDS:
                raise _bad(f"Unknown parameter: '{key}'.", key, "unknown_parameter")
        model = body.get("model")
        if not isinstance(model, str):
            raise _bad("Missing required parameter: 'model'.", "model", "missing_required_parameter")
        self._check_model_available(model)
        if model not in IMAGE_MODELS:
            raise _bad(f"Model {model} is not an image model.", "model")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            raise _bad("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
        width = _int_field(body, "width", 1024, 64, 2048)
        height = _int_field(body, "height", 1024, 64, 2048)
        n = _int_field(body, "n", 1, 1, 4)
        low, high = IMAGE_MODELS[model]
        _int_field(body, "steps", low, low, high)
        if "seed" in body and (isinstance(body["seed"], bool) or not isinstance(body["seed"], int)):
            raise _invalid_type("seed", body["seed"], "an integer")
        if "guidance_scale" in body and not isinstance(body["guidance_scale"], (int, float)):
            raise _invalid_type("guidance_scale", body["guidance_scale"], "a number")
        fmt = body.get("output_format", "jpeg")
        if fmt not in ("jpeg", "png"):
            raise _invalid_value("output_format", fmt, ["jpeg", "png"])
        response_format = body.get("response_format", "url")
        if response_format not in ("base64", "url"):
            raise _invalid_value("response_format", response_format, ["base64", "url"])
        image = self._image(width, height, fmt)
        data = []
        for i in range(n):
            if response_format == "base64":
                data.append({"index": i, "type": "b64_json", "b64_json": base64.b64encode(image).decode("ascii")})
            else:
                name = uuid.uuid4().hex + (".png" if fmt == "png" else ".jpg")
                with self._lock_images:
                    self.served_images[name] = image
                data.append({"index": i, "type": "url", "url": f"{self.url}/imgproxy/{name}"})
        return Response.json({"id": uuid.uuid4().hex[:20] + "-fake", "model": model, "object": "list", "data": data})

    def _image(self, width: int, height: int, fmt: str) -> bytes:
        if fmt == "png":
            return png_bytes(width, height, self.image_color)
        from PIL import Image

        buf = io.BytesIO()
        Image.new("RGB", (width, height), self.image_color).save(buf, "JPEG", quality=80)
        return buf.getvalue()

    # -- audio -------------------------------------------------------------------------------

    def _audio(self, req: RecordedRequest, task: Literal["transcribe", "translate"], text: str | None = None) -> Response:
        fmt = req.form.get("response_format") or "json"
        if fmt not in ("json", "verbose_json"):
            raise _invalid_value("response_format", fmt, ["json", "verbose_json"])
        if req.form.get("language") == "auto":  # detection: what FakeOpenAI gets without a language
            items = [(k, v) for k, v in req.form_items if k != "language"]
            req = dataclasses.replace(req, form=dict(items), form_items=items)
        resp = super()._audio(req, task, text)
        if resp.status != 200:
            return resp
        payload = json.loads(resp.body)
        payload.pop("usage", None)
        return Response.json(payload)

    def empty_response(self, req: RecordedRequest) -> Response:
        if req.path == self.images_path:
            return Response.json({"id": "empty", "model": "", "object": "list", "data": []})
        return super().empty_response(req)


__all__ = ["FakeTogether", "IMAGE_MODELS", "TOGETHER_MAX_BODY_BYTES", "WHISPER"]
