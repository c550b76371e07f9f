"""A fake Azure OpenAI resource: FakeOpenAI's bodies behind Azure's URLs, auth and errors.

Surface (PROVIDERS.md §3 and §12.3):

* ``POST /openai/deployments/{deployment}/images/generations``, ``.../audio/transcriptions`` and
  ``.../audio/translations``: the deployment names the model (``deployments`` maps deployment ->
  model); the body ``model`` is ignored, as on Azure. Everything past the URL is FakeOpenAI's
  validation and answers (sizes, formats, dall-e URLs served under ``/files/``, usage);
* ``GET /openai/models``: the models listing (Microsoft REST reference "Models - List", GA
  2024-10-21), the cheap check;
* ``api-version`` required on every API route (missing or unknown: 404 "Resource not found");
* ``api-key`` header (401 with Azure's "Access denied due to invalid subscription key ..." body);
  ``Authorization: Bearer`` is accepted as an Entra ID token when ``entra_token`` is set;
* content filter: 400 ``{"error": {"code": "contentFilter", "message": "Your task failed as a result of
  our safety system."}}`` for a prompt FakeOpenAI refuses (the word "forbidden");
* a deployment that does not exist: 404 ``DeploymentNotFound``; a deployment of the wrong kind for the
  route: 400 ``OperationNotSupported``;
* 429 with ``retry-after`` and ``retry-after-ms`` (``rate_limited()``), ``apim-request-id`` /
  ``x-ms-region`` headers, and ``content_filter_results`` / ``prompt_filter_results`` annotations on
  dall-e results.

Sources: ``openai/openai-python`` src/openai/lib/azure.py (deployment paths, api-version query,
api-key header); learn.microsoft.com/rest/api/azureopenai/models/list (``GET
{endpoint}/openai/models?api-version=2024-10-21`` with ``api-key``); PROVIDERS.md §3 (error bodies,
retry headers). ⚠ Not confirmed and chosen here: the exact 401/404/DeploymentNotFound/
OperationNotSupported messages, 404 (not 400) for an unknown api-version, the annotation shapes, and
``gpt_image_needs_preview``: GPT image deployments answer 400 on a GA (non-preview) api-version.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from typing import Any, Literal

from ._server import Fault, RecordedRequest, Response
from .openai import FakeOpenAI, OpenAIError

GA_VERSIONS = frozenset({"2024-02-01", "2024-06-01", "2024-10-21"})
PREVIEW_VERSIONS = frozenset({"2024-02-15-preview", "2024-05-01-preview", "2025-01-01-preview",
                              "2025-03-01-preview", "2025-04-01-preview"})
DEFAULT_DEPLOYMENTS = {"my-dalle": "dall-e-3", "my-whisper": "whisper-1", "img15": "gpt-image-1.5"}
CONTENT_FILTER_MESSAGE = "Your task failed as a result of our safety system."
_CATEGORIES = ("hate", "self_harm", "sexual", "violence")
_ROUTE = re.compile(r"/openai/deployments/([^/]+)/(images/generations|audio/transcriptions|audio/translations)")
_OPERATION = {"images/generations": "imagesGenerations", "audio/transcriptions": "audioTranscriptions",
              "audio/translations": "audioTranslations"}


def azure_error(status: int, code: str, message: str) -> Response:
    return Response.json({"error": {"code": code, "message": message}}, status)


def rate_limited(retry_after_ms: int = 1000) -> Fault:
    """429 as Azure sends it: `retry-after` (seconds) and `retry-after-ms`."""
    seconds = max(1, round(retry_after_ms / 1000))
    body = {"error": {"code": "429", "message": "Requests to the Images_Generations Operation under Azure "
                      "OpenAI API version 2024-10-21 have exceeded call rate limit of your current OpenAI S0 "
                      f"pricing tier. Please retry after {seconds} second."}}
    return Fault(status=429, body=body, headers={"retry-after": str(seconds), "retry-after-ms": str(retry_after_ms),
                                                 "x-ratelimit-remaining-requests": "0"})


class _AzureError(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class FakeAzureOpenAI(FakeOpenAI):
    """Use ``fake.url`` as AZURE_OPENAI_ENDPOINT. ``fake.deployments`` maps deployment -> model."""

    server_header = "Microsoft-HTTPAPI/2.0"

    def __init__(self, *, deployments: dict[str, str] | None = None, api_key: str | None = None,
                 entra_token: str | None = None, api_versions: frozenset[str] = GA_VERSIONS | PREVIEW_VERSIONS,
                 gpt_image_needs_preview: bool = True, region: str = "swedencentral", **kw: Any) -> None:
        super().__init__(prefix="/openai", auth="api-key", api_key=api_key, api_key_header="api-key",
                         serve_retired=True, **kw)
        self.deployments = dict(DEFAULT_DEPLOYMENTS if deployments is None else deployments)
        self.entra_token = entra_token
        self.api_versions = set(api_versions)
        self.gpt_image_needs_preview = gpt_image_needs_preview
        self.region = region

    # -- FakeServer hooks -----------------------------------------------------------------------

    def common_headers(self, req: RecordedRequest, resp: Response, started: float) -> None:
        super().common_headers(req, resp, started)
        for name in ("openai-organization", "openai-version"):
            resp.headers.pop(name, None)
        resp.headers.setdefault("apim-request-id", str(uuid.uuid4()))
        resp.headers.setdefault("x-ms-region", self.region)

    def fault_body(self, req: RecordedRequest, status: int) -> Response:
        if status == 429:
            return Response.json(rate_limited().body, 429)
        if status == 401:
            return self._denied()
        return super().fault_body(req, status)

    def empty_response(self, req: RecordedRequest) -> Response:
        return self._answer(req, empty=True)

    def malformed_body(self, req: RecordedRequest) -> bytes:
        if "/audio/" in req.path:
            return b'{"text": "The quick brown fox", "usage": {"type": "dur'
        return super().malformed_body(req)

    def route(self, req: RecordedRequest) -> Response:
        return self._answer(req)

    # -- routing ------------------------------------------------------------------------------

    def _answer(self, req: RecordedRequest, empty: bool = False) -> Response:
        try:
            return self._guard(lambda: self._azure(req, empty))
        except _AzureError as exc:
            return exc.response

    def _azure(self, req: RecordedRequest, empty: bool) -> Response:
        if req.method == "GET" and req.path.startswith("/files/"):
            return self._serve_file(req)  # dall-e result blobs: signed URLs, no key
        if req.too_large:
            raise OpenAIError(413, f"Maximum content size limit ({self.max_body_bytes}) exceeded "
                                   f"({req.body_size} bytes read)")
        version = req.query.get("api-version")
        if version not in self.api_versions:
            raise _AzureError(azure_error(404, "404", "Resource not found"))
        self._check_key(req)
        if req.method == "GET" and req.path.rstrip("/") == "/openai/models":
            return self._azure_models()
        match = _ROUTE.fullmatch(req.path.rstrip("/"))
        if match is None or req.method != "POST":
            raise _AzureError(azure_error(404, "404", "Resource not found"))
        deployment, route = match.groups()
        model = self.deployments.get(deployment)
        if model is None:
            raise _AzureError(azure_error(404, "DeploymentNotFound", "The API deployment for this resource does "
                                          "not exist. If you created the deployment within the last 5 minutes, "
                                          "please wait a moment and try again."))
        is_image = model in self.image_models
        if is_image != route.startswith("images"):
            raise _AzureError(azure_error(400, "OperationNotSupported", f"The {_OPERATION[route]} operation does "
                                          f"not work with the specified model, {model}. Please choose different "
                                          "model and try again."))
        if is_image and self.gpt_image_needs_preview and self.image_models[model].kind == "gpt" \
                and not str(version).endswith("-preview"):
            raise _AzureError(azure_error(400, "BadRequest", f"{model} is not supported with api-version "
                                          f"{version}; use a preview api-version."))
        return self._on_deployment(req, route, model, empty)

    def _check_key(self, req: RecordedRequest) -> None:
        bearer = req.headers.get("authorization", "")
        if self.entra_token and bearer == f"Bearer {self.entra_token}":
            return
        key = req.headers.get("api-key", "").strip()
        if not key or key in self.bad_keys or (self.api_key is not None and key != self.api_key):
            raise _AzureError(self._denied())

    def _denied(self) -> Response:
        return azure_error(401, "401", "Access denied due to invalid subscription key or wrong API endpoint. "
                                       "Make sure to provide a valid key for an active subscription and use a "
                                       "correct regional API endpoint for your resource.")

    def _azure_models(self) -> Response:
        data = [{"id": name, "object": "model", "created_at": 1_700_000_000, "status": "succeeded",
                 "lifecycle_status": "generally-available",
                 "capabilities": {"inference": True, "fine_tune": False, "completion": False,
                                  "chat_completion": False, "embeddings": False}}
                for name in sorted(set(self.deployments.values()))]
        return Response.json({"data": data, "object": "list"})

    def _on_deployment(self, req: RecordedRequest, route: str, model: str, empty: bool) -> Response:
        """Hand the request to FakeOpenAI as if `model` had been in the body (Azure ignores it)."""
        if route == "images/generations":
            if not isinstance(req.json, dict):
                raise OpenAIError(400, "Invalid Content-Type header, expected application/json.")
            shadow = dataclasses.replace(req, json={**req.json, "model": model})
            if empty:
                return Response.json({"created": 1_700_000_000, "data": []})
            try:
                resp = self._images(shadow)
            except OpenAIError as exc:
                code = exc.body["error"].get("code")
                if code in ("content_policy_violation", "moderation_blocked"):
                    raise _AzureError(azure_error(400, "contentFilter", CONTENT_FILTER_MESSAGE)) from exc
                raise
            return self._annotated(resp)
        task: Literal["transcribe", "translate"] = "translate" if route.endswith("translations") else "transcribe"
        items = [(k, model if k == "model" else v) for k, v in req.form_items]
        if "model" not in req.form:
            items.append(("model", model))
        shadow = dataclasses.replace(req, form=dict(items), form_items=items)
        return self._audio(shadow, task, text="") if empty else self._audio(shadow, task)

    def _annotated(self, resp: Response) -> Response:
        """Azure adds content-filter annotations to each image (⚠ shape)."""
        if resp.status != 200 or "json" not in resp.headers.get("content-type", ""):
            return resp
        payload = json.loads(resp.body)
        safe = {c: {"filtered": False, "severity": "safe"} for c in _CATEGORIES}
        for item in payload.get("data", []):
            item["content_filter_results"] = safe
            item["prompt_filter_results"] = safe
        resp.body = json.dumps(payload).encode()
        return resp
