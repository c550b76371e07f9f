"""Azure OpenAI: OpenAI's bodies on deployment-scoped URLs, with an `api-key` header and `api-version`.

PROVIDERS.md §3, checked against `openai/openai-python` src/openai/lib/azure.py (AzureOpenAI):
- base URL `{AZURE_OPENAI_ENDPOINT}/openai`; `/images/generations` and `/audio/transcriptions` (and
  `/audio/translations`, `/images/edits`, ...) go to `/deployments/{model}{path}`, the body `model`
  being the deployment name (BaseAzureClient._build_request);
- `api-version` on every request, from `api_version` or OPENAI_API_VERSION (default_query);
- `api-key: <key>` with a key, `Authorization: Bearer <token>` with an Entra ID token (_prepare_options);
- `client.models.list()` is `GET {endpoint}/openai/models?api-version=...` (not a deployments route),
  which Microsoft's REST reference documents for GA 2024-10-21 (learn.microsoft.com/rest/api/azureopenai/
  models/list, `api-key` header): the check. The old `GET /openai/deployments` listing is gone from
  the data plane since 2023, so it is not used.

The deployment is the user's: `[providers.azure] models = { "dall-e-3" = "my-dalle" }` makes it
`call.provider_model`. The catalog model behind a deployment (found from that same table) decides the
body's shape: DALL-E's `response_format`/`style`, or GPT image's `output_format`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from aigw import errors
from aigw.providers.openai import OpenAIProvider
from aigw.types import ImageCall, ProviderImages, ProviderTranscript, TranscribeCall

# GA data-plane version that serves dall-e-3 and whisper; GPT image models need a preview version.
DEFAULT_API_VERSION = "2024-10-21"
PREVIEW_HINT = "2025-04-01-preview"

# The deployment of the request in flight (task-local, so concurrent calls on one provider never mix).
_deployment: contextvars.ContextVar[str | None] = contextvars.ContextVar("azure_deployment", default=None)


class AzureOpenAIProvider(OpenAIProvider):
    default_base_url: ClassVar[str] = ""  # each resource has its own endpoint: AZURE_OPENAI_ENDPOINT

    @property
    def api_version(self) -> str:
        return self.settings.option("api_version") or DEFAULT_API_VERSION

    def headers(self) -> dict[str, str]:
        out = dict(self.settings.headers or {})
        key = self.api_key
        if key and self.settings.auth == "bearer":
            out["Authorization"] = f"Bearer {key}"  # an Entra ID token kept as the key
        elif key and self.settings.auth != "none":
            out["api-key"] = key
        return out

    def url(self, path: str) -> str:
        """`{endpoint}/openai/deployments/{deployment}{path}?api-version=...`; `/models` is not
        deployment-scoped."""
        root = self.base_url if urlsplit(self.base_url).path.rstrip("/").endswith("/openai") else self.base_url + "/openai"
        deployment = _deployment.get()
        if path != "/models":
            if not deployment:
                raise errors.ConfigError(f"{self.name}: no deployment for {path}")
            root += "/deployments/" + quote(deployment, safe="")
        return self.with_base_query(f"{root}/{path.lstrip('/')}", {"api-version": self.api_version})

    def upstream_model(self, deployment: str) -> str:
        """The catalog id the user mapped to this deployment (the deployment itself if unmapped)."""
        mapping = self.settings.models if isinstance(self.settings.models, dict) else {}
        return next((model for model, dep in mapping.items() if dep == deployment), deployment)

    # ---- preparing ---------------------------------------------------------------------------

    def _need_endpoint(self) -> None:
        if not self.base_url:
            raise errors.ConfigError(f"{self.name}: no endpoint for Azure OpenAI",
                                     hint="set AZURE_OPENAI_ENDPOINT=https://<resource>.openai.azure.com, or "
                                          f"'aigw config set providers.{self.name}.base_url <endpoint>'")

    def prepare_image(self, call: ImageCall) -> tuple[ImageCall, list[str]]:
        self._need_endpoint()
        model = self.upstream_model(call.provider_model)
        # OpenAI's own mapping, for the model behind the deployment; the deployment stays the target.
        prepared, notes = super().prepare_image(call.model_copy(update={"provider_model": model}))
        prepared = prepared.model_copy(update={"provider_model": call.provider_model})
        if model.startswith(("gpt-image", "chatgpt-image")) and not self.settings.option("api_version"):
            notes = [*notes, f"{self.name}: {model} needs a preview api-version (e.g. {PREVIEW_HINT}); sending "
                             f"{DEFAULT_API_VERSION}. Set OPENAI_API_VERSION or providers.{self.name}.api_version"]
        return prepared, notes

    def prepare_transcribe(self, call: TranscribeCall) -> tuple[TranscribeCall, list[str]]:
        self._need_endpoint()
        model = self.upstream_model(call.provider_model)
        prepared, notes = super().prepare_transcribe(call.model_copy(update={"provider_model": model}))
        return prepared.model_copy(update={"provider_model": call.provider_model}), notes

    # ---- requests: OpenAI's, on the deployment's URL ------------------------------------------

    def image_body(self, call: ImageCall) -> dict[str, Any]:
        # Shaped for the model behind the deployment; `model` stays the deployment, as the SDK sends it.
        body = super().image_body(call.model_copy(update={"provider_model": self.upstream_model(call.provider_model)}))
        body["model"] = call.provider_model
        return body

    @contextlib.contextmanager
    def _on_deployment(self, deployment: str) -> Iterator[None]:
        """URLs built inside go to this deployment; a 404 for it is explained in aigw's terms."""
        token = _deployment.set(deployment)
        try:
            yield
        except errors.BadRequestError as exc:
            explained = self._explained(exc, deployment)
            if explained is exc:
                raise
            raise explained from exc
        finally:
            _deployment.reset(token)

    async def generate(self, call: ImageCall, *, timeout: float) -> ProviderImages:
        with self._on_deployment(call.provider_model):
            return await super().generate(call, timeout=timeout)

    async def transcribe(self, call: TranscribeCall, *, timeout: float) -> ProviderTranscript:
        with self._on_deployment(call.provider_model):
            return await super().transcribe(call, timeout=timeout)

    def _explained(self, exc: errors.BadRequestError, deployment: str) -> errors.ProviderError:
        """404 DeploymentNotFound: this resource does not serve the model as configured, so the next
        provider may; any other 404 is a wrong endpoint or api-version."""
        if exc.status != 404:
            return exc
        if (exc.code or "").lower() != "deploymentnotfound":
            exc.hint = (f"check the endpoint ({self.base_url}) and the api-version ({self.api_version}): "
                        f"AZURE_OPENAI_ENDPOINT, OPENAI_API_VERSION or providers.{self.name}.api_version")
            return exc
        return errors.ModelUnavailableError(
            exc.message, provider=self.name, status=exc.status, code=exc.code,
            hint=f"no deployment '{deployment}' at {self.base_url}: fix [providers.{self.name}] models "
                 f"in the config ({self.upstream_model(deployment)} = \"<deployment name>\")")

    async def check(self, *, timeout: float) -> dict[str, Any]:
        """GET /openai/models?api-version=...: free, authenticated (what AzureOpenAI.models.list() sends)."""
        if not self.base_url:
            return {"reachable": False, "key_accepted": None, "latency_ms": None,
                    "detail": "no endpoint: set AZURE_OPENAI_ENDPOINT"}
        found = await super().check(timeout=timeout)
        found["detail"] = found["detail"].replace("GET /models", "GET /openai/models")
        return found
