"""itsprov's wire: POST {base_url}/v1/images {"model", "prompt", "size", "flavour"} -> {"image": base64 PNG}."""

from __future__ import annotations

import base64
from typing import ClassVar

from aigw.providers.api import (
    NOT_SENT,
    SENT,
    EmptyResultError,
    ImageBlob,
    ImageCall,
    ProviderBase,
    ProviderImages,
    Support,
    classify,
    json_body,
    not_sent,
    translated,
)


class ItsProvider(ProviderBase):
    kinds: ClassVar[frozenset[str]] = frozenset({"image"})
    default_base_url: ClassVar[str] = "https://api.itsprov.example"
    image_options: ClassVar[dict[str, Support]] = {
        "size": SENT, "aspect_ratio": NOT_SENT, "quality": NOT_SENT, "style": NOT_SENT, "n": SENT,
        "format": NOT_SENT, "seed": NOT_SENT, "negative_prompt": NOT_SENT, "steps": NOT_SENT, "guidance": NOT_SENT,
    }

    def prepare_image(self, call: ImageCall) -> tuple[ImageCall, list[str]]:
        honoured = [k for k, v in self.image_options.items() if v == SENT]
        return not_sent(call, honoured, name=self.name, model=call.provider_model)

    async def generate(self, call: ImageCall, *, timeout: float) -> ProviderImages:
        body = {"model": call.provider_model, "prompt": call.prompt, "size": call.size or "512x512",
                "flavour": self.settings.option("flavour") or "plain"}
        with translated(self.name):  # connection failures and timeouts become aigw errors
            resp = await self.http.post(self.endpoint("/v1/images"), json=body, timeout=timeout,
                                        headers={"Authorization": f"Bearer {self.api_key}"})
        if resp.status_code >= 400:
            raise classify(resp, self.name)  # 401 -> AuthError, 429 -> RateLimitedError, ...
        image = json_body(resp, self.name).get("image")
        if not image:
            raise EmptyResultError(f"{self.name}: no image in the reply", provider=self.name, status=resp.status_code)
        return ProviderImages(images=[ImageBlob(data=base64.b64decode(image), ext="png")],
                              bytes_down=len(resp.content), http_status=resp.status_code)
