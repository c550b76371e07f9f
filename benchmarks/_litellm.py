"""LiteLLM (core library, not the proxy) set up against the same loopback fakes, for comparison.

Offline: the model cost map is read from the copy bundled with the package
(LITELLM_LOCAL_MODEL_COST_MAP), telemetry and callbacks are off, and every deployment's api_base
is 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from benchmarks._common import MODEL, PROMPT

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")


def available() -> str | None:
    """LiteLLM's version, or None when it is not installed."""
    try:
        from importlib.metadata import version

        import litellm  # noqa: F401
    except ImportError:
        return None
    return version("litellm")


def _deployment(group: str, url: str) -> dict[str, Any]:
    # max_retries=0: the OpenAI SDK under LiteLLM would otherwise retry a 500 itself (with a sleep).
    return {"model_name": group, "litellm_params": {"model": f"openai/{MODEL}", "api_base": url,
                                                     "api_key": "sk-bench", "max_retries": 0}}


def _quiet() -> None:
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    litellm.set_verbose = False
    litellm.drop_params = True


def load_router(urls: list[str]) -> Any:
    """One model group with a deployment per URL (LiteLLM's default simple-shuffle among them)."""
    import litellm

    _quiet()
    return litellm.Router(model_list=[_deployment(MODEL, url) for url in urls], num_retries=0)


def failover_router(primary: str, secondary: str) -> Any:
    """The same shape as aigw's failover: group "primary", falling back to group "secondary" at once."""
    import litellm

    _quiet()
    return litellm.Router(model_list=[_deployment("primary", primary), _deployment("secondary", secondary)],
                          fallbacks=[{"primary": ["secondary"]}], num_retries=0, retry_after=0)


@contextlib.contextmanager
def no_sdk_retries() -> Iterator[None]:
    """Force the OpenAI SDK under LiteLLM to 0 retries.

    For image generation LiteLLM 1.106 drops `max_retries` from the deployment's litellm_params
    (images/main.py filters it out of the provider parameters) and OpenAIChatCompletion.image_generation
    then uses its default of 2, which _get_openai_client sets on the router's cached client too. So
    a 500 or a refused connection is retried twice by the SDK, with its own backoff, before LiteLLM's
    fallback runs. This patch is the only way found to turn that off, for a like-for-like figure."""
    from litellm.llms.openai.openai import OpenAIChatCompletion

    orig = OpenAIChatCompletion._get_openai_client

    def patched(self: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["max_retries"] = 0
        return orig(self, *args, **kwargs)

    OpenAIChatCompletion._get_openai_client = patched  # type: ignore[method-assign]
    try:
        yield
    finally:
        OpenAIChatCompletion._get_openai_client = orig  # type: ignore[method-assign]


async def image(router: Any, group: str = MODEL) -> Any:
    resp = await router.aimage_generation(model=group, prompt=PROMPT, n=1)
    if not resp.data or not resp.data[0].b64_json:
        raise RuntimeError(f"LiteLLM returned no image: {resp!r}"[:300])
    return resp
