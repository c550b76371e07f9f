"""Fakes of OpenAI-compatible gateways, with the quirks that make them products rather than URLs.

PROVIDERS.md §11 (Kong AI Proxy, Cloudflare AI Gateway, LiteLLM proxy) and §12.2 item 11. Each fake
is a real loopback HTTP server, so aigw's provider code is exercised through httpx exactly as it
would be against the real gateway.

* :class:`FakeKong`: a Kong Gateway route with the AI Proxy (Advanced) plugin in front of OpenAI.
  The client speaks OpenAI's format to the operator's route paths (``/ai/images``,
  ``/ai/transcriptions``); Kong holds the upstream key. Kong-generated errors use Kong's own body
  ``{"message": ..., "request_id": ...}``; upstream errors pass through unchanged (Kong's
  ``header_filter`` only acts on 200). Successful answers carry ``X-Kong-LLM-Model:
  <provider>/<model>``, ``X-Kong-Upstream-Latency``, ``X-Kong-Proxy-Latency`` and ``Via``.
* :class:`FakeCloudflare`: ``/v1/{account}/{gateway}/openai/...`` in front of OpenAI; the OpenAI key
  in ``Authorization`` and, for an authenticated gateway, ``cf-aig-authorization: Bearer <token>``.
* :class:`FakeLiteLLM`: a LiteLLM proxy that really forwards to an upstream :class:`FakeOpenAI`
  over loopback HTTP and rewrites what comes back the way a real ``litellm[proxy]`` 1.106.2 does.

Sources and what is confirmed:

* Kong: ``Kong/kong`` ``kong/llm/proxy/handler.lua`` (read through the code index): the plugin's
  own errors are ``400 {"error": {"message": ...}}`` (``bad_request()``), e.g. ``cannot use own
  model - must be: <configured model>`` when a JSON body names another model than the target's
  (multipart bodies are proxied without that check); ``header_filter``/``body_filter`` return early
  unless the status is 200, so upstream errors reach the client as the upstream wrote them.
  ``X-Kong-LLM-Model`` is ``<provider>/<model>`` (Kong docs example ``openai/gpt-4``; Kong changelog
  #13472). ``max_request_body_size`` defaults to 1,048,576 bytes (schema 3.15, PROVIDERS.md §11.1).
  Kong's request-size-limiting plugin answers ``413 {"message": "Request size limit exceeded"}``.
  ⚠ The exact status and body the AI Proxy gives for a body over its own ``max_request_body_size``
  are not confirmed; this fake answers like the size-limiting plugin (413, Kong body).
  Key-auth: ``401 {"message": "No API key found in request"}`` (no key) and ``401 {"message":
  "Unauthorized"}`` (wrong key) with ``WWW-Authenticate: Key`` ⚠ (Kong 3.x wording, from memory of
  the key-auth handler; older releases said "Invalid authentication credentials"). Rate limiting:
  ``429 {"message": "API rate limit exceeded"}`` with ``RateLimit-Limit``/``-Remaining``/``-Reset``,
  ``Retry-After`` and ``X-RateLimit-Limit-Minute``/``-Remaining-Minute`` (rate-limiting plugin).
  Unknown paths: ``404 {"message": "no Route matched with those values"}``.
* Cloudflare: ``cloudflare/cloudflare-docs`` (PROVIDERS.md §11.2) for the URL layout and the
  ``cf-aig-authorization`` header. ⚠ The body of a gateway-generated error (401 for a missing or
  wrong gateway token, 429 from gateway rate limiting) is not documented in the sources read; this
  fake uses Cloudflare's API envelope ``{"success": false, "result": [], "messages": [], "error":
  [{"code": 2009, "message": "Unauthorized"}]}`` / ``[{"code": 2003, "message": "Rate limited"}]``
  and sends no ``Retry-After`` and no OpenAI ``x-ratelimit-*`` headers on them.
* LiteLLM: observed on 2026-11-23 by running ``litellm[proxy]`` 1.106.2 on loopback in front of
  :class:`FakeOpenAI` (see PROVIDERS.md §11.3 and the helper report): error bodies
  ``{"error": {"message": "litellm.<Exc>: ...OpenAIException - <upstream message>\\n\\nLiteLLM: model
  group '<group>' failed with the error above. No fallback was attempted.", "type": ..., "param":
  null, "code": "<status>"}}`` with ``type`` ``throttling_error`` (429), ``internal_server_error``
  (5xx), ``authentication_error`` (401), the upstream type for 400 (so a refusal keeps
  ``image_generation_user_error`` but loses ``code: moderation_blocked``), ``invalid_request_error``
  for 408/413; no ``Retry-After`` / ``x-ratelimit-*`` on errors; upstream retried inside the proxy
  (3 attempts); a hanging upstream gives 408 ``litellm.Timeout: APITimeoutError - Request timed
  out.``; text/srt/vtt transcriptions come back as ``application/json`` ``{"text": "<document>",
  "usage": null}``; a key other than the master key with no database gives ``400 {"error":
  {"message": "No connected db.", "type": "no_db_connection", "param": null, "code": "400"}}``; no
  key at all gives a bare ``500 Internal Server Error`` (text/plain); an unknown model group gives
  400 ``Invalid model name passed in model=...``; after repeated failures the deployment is put in
  cooldown and the proxy answers ``429`` ``all_deployments_in_cooldown`` (``No deployments available
  for selected model, Try again in 5 seconds``) without calling the upstream.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from typing import Any, Mapping

import httpx

from ._server import FakeServer, RecordedRequest, Response
from .openai import FakeOpenAI

__all__ = [
    "CF_ACCOUNT",
    "CF_GATEWAY",
    "FakeCloudflare",
    "FakeKong",
    "FakeLiteLLM",
    "KONG_MAX_BODY_BYTES",
    "LITELLM_VERSION",
    "cloudflare_error",
    "kong_error",
]

KONG_MAX_BODY_BYTES = 1_048_576  # AI Proxy (Advanced) config.max_request_body_size default
KONG_VERSION = "3.11.0"
CF_ACCOUNT = "acct"
CF_GATEWAY = "gw"
LITELLM_VERSION = "1.106.2"


def kong_error(message: str, status: int, headers: Mapping[str, str] | None = None) -> Response:
    """Kong's own error body (auth, rate limiting, size limiting, routing)."""
    return Response.json({"message": message, "request_id": uuid.uuid4().hex}, status, headers)


def cloudflare_error(code: int, message: str, status: int) -> Response:
    """⚠ Cloudflare's API envelope, assumed for AI Gateway's own errors (see module docstring)."""
    return Response.json({"success": False, "result": [], "messages": [], "error": [{"code": code, "message": message}]}, status)


class _GatewayMixin:
    """Gateway-side errors queued by a test, answered before the upstream sees anything, and
    marked so the upstream's headers (x-request-id, x-ratelimit-*) are not added to them."""

    def _init_gateway(self) -> None:
        self._gw_lock = threading.Lock()
        self._gw_queue: deque[Response] = deque()
        self.gateway_answered: list[RecordedRequest] = []

    def queue_gateway_error(self, resp: Response, times: int = 1) -> None:
        with self._gw_lock:
            for _ in range(times):
                self._gw_queue.append(Response(resp.status, resp.body, dict(resp.headers)))

    def _next_gateway_error(self) -> Response | None:
        with self._gw_lock:
            return self._gw_queue.popleft() if self._gw_queue else None

    def _mark(self, req: RecordedRequest, resp: Response) -> Response:
        req.gateway_origin = True  # type: ignore[attr-defined]
        with self._gw_lock:
            self.gateway_answered.append(req)
        return resp

    @staticmethod
    def _from_gateway(req: RecordedRequest) -> bool:
        return bool(getattr(req, "gateway_origin", False))


# --------------------------------------------------------------------------------------------
# Kong AI Proxy
# --------------------------------------------------------------------------------------------


class FakeKong(_GatewayMixin, FakeOpenAI):
    """Kong Gateway routes with AI Proxy Advanced targets (``image/v1/images/generations`` and
    ``audio/v1/audio/transcriptions``) in front of OpenAI.

    ``image_model`` / ``audio_model``: the target's configured ``model.name`` (a JSON body naming
    another model gets Kong's 400; None = take the model from the request). ``provider``: the
    target's ``model.provider`` (shown in ``X-Kong-LLM-Model``). ``key_auth``: keys the key-auth
    plugin accepts (None = no auth plugin on the route), read from the ``key_names`` headers.
    """

    server_header = f"kong/{KONG_VERSION}"

    def __init__(
        self,
        *,
        images_route: str = "/ai/images",
        transcriptions_route: str = "/ai/transcriptions",
        image_model: str | None = "dall-e-3",
        audio_model: str | None = "whisper-1",
        provider: str = "openai",
        key_auth: tuple[str, ...] | None = None,
        key_names: tuple[str, ...] = ("apikey",),
        max_request_body_size: int = KONG_MAX_BODY_BYTES,
        **kw: Any,
    ) -> None:
        kw.setdefault("serve_retired", True)  # the upstream behind Kong may be an old Azure deployment
        super().__init__(prefix="", images_path=images_route, transcriptions_path=transcriptions_route,
                         auth="none", **kw)
        self._init_gateway()
        self.image_model = image_model
        self.audio_model = audio_model
        self.provider = provider
        self.key_auth = key_auth
        self.key_names = tuple(k.lower() for k in key_names)
        self.max_request_body_size = max_request_body_size
        self.kong_routes = {self.images_path, self.transcriptions_path}

    # Faults a test can queue: what the Kong plugins answer before the upstream is called.
    def rate_limit(self, *, retry_after: int = 30, limit: int = 5, times: int = 1) -> None:
        headers = {
            "RateLimit-Limit": str(limit), "RateLimit-Remaining": "0", "RateLimit-Reset": str(retry_after),
            "Retry-After": str(retry_after), "X-RateLimit-Limit-Minute": str(limit),
            "X-RateLimit-Remaining-Minute": "0",
        }
        self.queue_gateway_error(kong_error("API rate limit exceeded", 429, headers), times)

    def body_limit(self, method: str, path: str) -> int | None:
        # Kong stops reading at its own limit, before anything reaches the upstream.
        return self.max_request_body_size if path in self.kong_routes else None

    def common_headers(self, req: RecordedRequest, resp: Response, started: float) -> None:
        h = resp.headers
        h.setdefault("via", f"1.1 kong/{KONG_VERSION}")
        h.setdefault("x-kong-request-id", uuid.uuid4().hex)
        h.setdefault("x-kong-proxy-latency", "1")
        if self._from_gateway(req):
            return
        h.setdefault("x-kong-upstream-latency", str(max(1, int((time.monotonic() - started) * 1000))))
        super().common_headers(req, resp, started)

    def route(self, req: RecordedRequest) -> Response:
        if req.path not in self.kong_routes:
            return self._mark(req, kong_error("no Route matched with those values", 404))
        if self.key_auth is not None:
            key = next((req.headers[n] for n in self.key_names if req.headers.get(n)), None)
            if key is None:
                return self._mark(req, kong_error("No API key found in request", 401, {"WWW-Authenticate": 'Key realm="kong"'}))
            if key not in self.key_auth:
                return self._mark(req, kong_error("Unauthorized", 401, {"WWW-Authenticate": 'Key realm="kong"'}))
        queued = self._next_gateway_error()
        if queued is not None:
            return self._mark(req, queued)
        if req.too_large:
            return self._mark(req, kong_error("Request size limit exceeded", 413))
        configured = self.image_model if req.path == self.images_path else self.audio_model
        asked = req.json.get("model") if isinstance(req.json, dict) else None
        if configured and isinstance(asked, str) and asked and asked != configured:
            return self._mark(req, Response.json({"error": {"message": f"cannot use own model - must be: {configured}"}}, 400))
        resp = super().route(req)
        if resp.status == 200:
            model = configured or asked or req.form.get("model") or "NOT_SPECIFIED"
            resp.headers["x-kong-llm-model"] = f"{self.provider}/{model}"
        return resp


# --------------------------------------------------------------------------------------------
# Cloudflare AI Gateway
# --------------------------------------------------------------------------------------------


class FakeCloudflare(_GatewayMixin, FakeOpenAI):
    """``http://127.0.0.1:PORT/v1/{account}/{gateway}/openai`` in front of OpenAI.

    ``gateway_token``: when set the gateway is authenticated and wants
    ``cf-aig-authorization: Bearer <token>``; the OpenAI key stays in ``Authorization``.
    """

    server_header = "cloudflare"

    def __init__(self, *, account: str = CF_ACCOUNT, gateway: str = CF_GATEWAY,
                 gateway_token: str | None = "cf-token", **kw: Any) -> None:
        super().__init__(prefix=f"/v1/{account}/{gateway}/openai", **kw)
        self._init_gateway()
        self.gateway_token = gateway_token

    def rate_limit(self, times: int = 1) -> None:
        """Gateway-level rate limiting: 429 from Cloudflare before OpenAI is called (⚠ body shape)."""
        self.queue_gateway_error(cloudflare_error(2003, "Rate limited", 429), times)

    def common_headers(self, req: RecordedRequest, resp: Response, started: float) -> None:
        h = resp.headers
        h.setdefault("cf-ray", uuid.uuid4().hex[:16] + "-FRA")
        if self._from_gateway(req):
            return
        h.setdefault("cf-aig-cache-status", "MISS")
        h.setdefault("cf-aig-log-id", uuid.uuid4().hex)
        super().common_headers(req, resp, started)

    def route(self, req: RecordedRequest) -> Response:
        if self.gateway_token is not None and not req.path.startswith("/files/"):
            sent = req.headers.get("cf-aig-authorization", "")
            if sent != f"Bearer {self.gateway_token}":
                return self._mark(req, cloudflare_error(2009, "Unauthorized", 401))
        queued = self._next_gateway_error()
        if queued is not None:
            return self._mark(req, queued)
        return super().route(req)


# --------------------------------------------------------------------------------------------
# LiteLLM proxy
# --------------------------------------------------------------------------------------------

# Exception names LiteLLM puts in front of the upstream message, by upstream status.
_LITELLM_EXC = {
    400: "litellm.BadRequestError: OpenAIException - ",
    401: "litellm.AuthenticationError: AuthenticationError: OpenAIException - ",
    403: "litellm.PermissionDeniedError: PermissionDeniedError: OpenAIException - ",
    404: "litellm.NotFoundError: NotFoundError: OpenAIException - ",
    413: "litellm.BadRequestError: OpenAIException - ",
    422: "litellm.UnprocessableEntityError: UnprocessableEntityError: OpenAIException - ",
    429: "litellm.RateLimitError: RateLimitError: OpenAIException - ",
    500: "litellm.InternalServerError: InternalServerError: OpenAIException - ",
    503: "litellm.ServiceUnavailableError: ServiceUnavailableError: OpenAIException - ",
}
_RETRIED = {408, 429, 500, 502, 503, 504}


class FakeLiteLLM(FakeServer):
    """A LiteLLM proxy (no database, master key only) forwarding to ``upstream`` over HTTP.

    ``model_list`` maps the proxy's model-group names (what a client sends as ``model``) to the
    upstream's model names. ``upstream_attempts``: tries per request for retryable upstream
    failures (LiteLLM makes 3 whatever ``max_retries`` says). ``upstream_timeout``: per try.
    """

    server_header = "uvicorn"

    def __init__(
        self,
        upstream: FakeOpenAI,
        *,
        master_key: str = "sk-master",
        upstream_key: str = "test",
        model_list: Mapping[str, str] | None = None,
        upstream_attempts: int = 3,
        upstream_timeout: float = 5.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.upstream = upstream
        self.master_key = master_key
        self.upstream_key = upstream_key
        self.model_list = dict(model_list or {"gpt-image-2": "gpt-image-2", "dall-e-3": "dall-e-3", "whisper-1": "whisper-1"})
        self.upstream_attempts = upstream_attempts
        self.upstream_timeout = upstream_timeout
        self.cooldown_until = 0.0
        self._http = httpx.Client()

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def stop(self) -> None:
        super().stop()
        self._http.close()
        self._http = httpx.Client()  # a stopped fake may be started again

    def cooldown(self, seconds: float = 5.0) -> None:
        """Put every deployment in cooldown, as the router does after repeated failures."""
        self.cooldown_until = time.monotonic() + seconds

    # -- FakeServer hooks -------------------------------------------------------------------

    def common_headers(self, req: RecordedRequest, resp: Response, started: float) -> None:
        h = resp.headers
        h.setdefault("x-litellm-call-id", req.headers.get("x-litellm-call-id") or str(uuid.uuid4()))
        h.setdefault("x-litellm-version", LITELLM_VERSION)
        h.setdefault("x-frame-options", "DENY")
        h.setdefault("x-content-type-options", "nosniff")

    def fault_body(self, req: RecordedRequest, status: int) -> Response:
        return self._error(status, "injected", "internal_server_error" if status >= 500 else "invalid_request_error", None)

    def route(self, req: RecordedRequest) -> Response:
        path = req.path.rstrip("/")
        if req.method == "GET" and path == "/health/liveliness":
            return Response.json("I'm alive!")
        key = self._key(req)
        if key is None:
            # 1.106.2: no credential at all ends in an unhandled exception.
            return Response.text("Internal Server Error", 500)
        if key != self.master_key:
            return Response.json({"error": {"message": "No connected db.", "type": "no_db_connection", "param": None, "code": "400"}}, 400)
        if req.method == "GET" and path in ("/v1/models", "/models"):
            data = [{"id": m, "object": "model", "created": 1677610602, "owned_by": "openai",
                     "mode": "audio_transcription" if "whisper" in m or "transcribe" in m else "image_generation"}
                    for m in self.model_list]
            return Response.json({"data": data, "object": "list"})
        if req.method == "POST" and path in ("/v1/images/generations", "/images/generations"):
            return self._images(req)
        if req.method == "POST" and path in ("/v1/audio/transcriptions", "/audio/transcriptions"):
            return self._transcriptions(req)
        return Response.json({"detail": "Not Found"}, 404)

    # -- request handling -------------------------------------------------------------------

    @staticmethod
    def _key(req: RecordedRequest) -> str | None:
        for name in ("x-litellm-api-key", "authorization", "api-key", "x-api-key"):
            value = req.headers.get(name, "").strip()
            if value:
                return value[7:].strip() if value[:7].lower() == "bearer " else value
        return None

    def _group(self, req: RecordedRequest, name: Any, route: str) -> str | Response:
        if not isinstance(name, str) or name not in self.model_list:
            msg = (f"{{'error': '{route}: Invalid model name passed in model={name}. Call `/v1/models` "
                   "to view available models for your key.'}")
            if route.startswith("/image"):
                return Response.json({"error": {"message": "400: " + msg, "type": "invalid_request_error", "param": None, "code": "400"}}, 400)
            # Seen on the audio route: type and param are the strings "None".
            return Response.json({"error": {"message": msg, "type": "None", "param": "None", "code": "400"}}, 400)
        if time.monotonic() < self.cooldown_until:
            msg = ("No deployments available for selected model, Try again in 5 seconds. All deployments for selected "
                   f"model are in cooldown. Passed model={name}. pre-call-checks=False, cooldown_list=['{uuid.uuid4().hex}']")
            return Response.json({"error": {"message": msg, "type": "all_deployments_in_cooldown", "param": None, "code": "429"}}, 429)
        return name

    def _images(self, req: RecordedRequest) -> Response:
        body = req.json if isinstance(req.json, dict) else None
        if body is None:
            return self._error(400, "Invalid JSON body", "invalid_request_error", None)
        group = self._group(req, body.get("model"), "/image/generations")
        if isinstance(group, Response):
            return group
        upstream_model = self.model_list[group]
        if upstream_model.startswith("gpt-image") or upstream_model.startswith("chatgpt-image"):
            # Checked by the proxy itself before any upstream call (§11.3).
            for param in ("response_format", "style"):
                if body.get(param) is not None:
                    msg = (f"litellm.UnsupportedParamsError: Setting `{param}` is not supported by openai, {upstream_model}. "
                           "To drop it from the call, set `litellm.drop_params = True`.")
                    return self._error(400, msg, "invalid_request_error", group, prefixed=True)
        forward = {**body, "model": upstream_model}
        resp = self._forward(lambda timeout: self._http.post(
            self.upstream.base_url + "/images/generations", json=forward, headers=self._upstream_headers(), timeout=timeout))
        if isinstance(resp, Response):
            return self._with_group(resp, group)
        if resp.status_code != 200:
            return self._rewrite(resp, group)
        payload = resp.json()
        for item in payload.get("data") or []:
            for k in ("b64_json", "revised_prompt", "url", "provider_specific_fields"):
                item.setdefault(k, None)
        return self._success(Response.json(payload), resp, group)

    def _transcriptions(self, req: RecordedRequest) -> Response:
        upload = req.files.get("file")
        if upload is None:
            return Response.json({"detail": [{"type": "missing", "loc": ["body", "file"], "msg": "Field required"}]}, 422)
        group = self._group(req, req.form.get("model"), "/audio/transcriptions")
        if isinstance(group, Response):
            return group
        form = [(k, v) for k, v in req.form_items if k != "model"] + [("model", self.model_list[group])]
        files = {"file": (upload.filename or "audio", upload.data, upload.content_type or "application/octet-stream")}
        resp = self._forward(lambda timeout: self._http.post(
            self.upstream.base_url + "/audio/transcriptions", data=dict(form), files=files,
            headers=self._upstream_headers(), timeout=timeout))
        if isinstance(resp, Response):
            return self._with_group(resp, group)
        if resp.status_code != 200:
            return self._rewrite(resp, group)
        if "json" in resp.headers.get("content-type", ""):
            payload = resp.json()
            usage = payload.get("usage")
            if isinstance(usage, dict) and isinstance(usage.get("seconds"), int):
                usage["seconds"] = float(usage["seconds"])
        else:
            # text / srt / vtt: the document is wrapped in JSON and served as JSON.
            payload = {"text": resp.text, "usage": None}
        return self._success(Response.json(payload), resp, group)

    def _upstream_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.upstream_key}"}

    def _forward(self, send: Any) -> httpx.Response | Response:
        """Up to ``upstream_attempts`` tries for retryable failures; the last failure is returned."""
        last: httpx.Response | Response | None = None
        for attempt in range(self.upstream_attempts):
            try:
                resp = send(self.upstream_timeout)
            except httpx.TimeoutException:
                last = self._error(408, "litellm.Timeout: APITimeoutError - Request timed out. Error_str: Request timed out.",
                                   "invalid_request_error", None, prefixed=True)
                continue
            except httpx.TransportError:
                last = self._error(500, "litellm.InternalServerError: InternalServerError: OpenAIException - Connection error.",
                                   "internal_server_error", None, prefixed=True)
                continue
            if resp.status_code not in _RETRIED:
                return resp
            last = resp
        assert last is not None
        return last

    def _rewrite(self, resp: httpx.Response, group: str) -> Response:
        status = resp.status_code
        try:
            err = resp.json().get("error") or {}
        except ValueError:
            err = {"message": resp.text}
        message = str(err.get("message") or resp.reason_phrase)
        if status == 429:
            etype: str | None = "throttling_error"
        elif status >= 500:
            etype = "internal_server_error"
        elif status == 401:
            etype = "authentication_error"
        elif status in (408, 413):
            etype = "invalid_request_error"
        else:
            etype = err.get("type") or "invalid_request_error"
        prefix = _LITELLM_EXC.get(status, _LITELLM_EXC[500] if status >= 500 else _LITELLM_EXC[400])
        return self._error(status, prefix + message, etype, group, param=err.get("param"), prefixed=True)

    def _error(self, status: int, message: str, etype: str | None, group: str | None, *, param: Any = None,
               prefixed: bool = False) -> Response:
        if group is not None:
            message += f"\n\nLiteLLM: model group '{group}' failed with the error above. No fallback was attempted."
        if not prefixed:
            message = "litellm." + message
        return Response.json({"error": {"message": message, "type": etype, "param": param, "code": str(status)}}, status)

    def _with_group(self, resp: Response, group: str) -> Response:
        payload = json.loads(resp.body)
        payload["error"]["message"] += f"\n\nLiteLLM: model group '{group}' failed with the error above. No fallback was attempted."
        return Response.json(payload, resp.status)

    def _success(self, out: Response, upstream: httpx.Response, group: str) -> Response:
        h = out.headers
        h["x-litellm-model-group"] = group
        h["x-litellm-model-id"] = uuid.uuid5(uuid.NAMESPACE_URL, group).hex
        h["x-litellm-model-api-base"] = self.upstream.base_url
        h["x-litellm-response-cost"] = "0.0"
        h["x-litellm-attempted-retries"] = "0"
        h["x-litellm-attempted-fallbacks"] = "0"
        for name, value in upstream.headers.items():
            if name.lower().startswith("x-ratelimit-"):
                h[name.lower()] = value
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                h["llm_provider-" + name.lower()] = value
        return out

