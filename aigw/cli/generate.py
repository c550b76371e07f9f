"""`aigw generate PROMPT`: images to files, one path per line on stdout."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from aigw.cli.output import STATE

HELP = """Generate images from a prompt and print the path of each saved file.

PROMPT '-' or absent reads the prompt from stdin. Every image is also kept under the cache
directory's results/. Examples:

  aigw generate "a red apple" -m gpt-image-2 --size 1536x1024
  echo "a lighthouse at dusk" | aigw generate -n 2 -o out/
  aigw generate "a cat" -m dall-e-3 --json
"""


def command(
    prompt: Optional[str] = typer.Argument(None, help="The prompt; '-' or absent reads stdin."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model id (default: defaults.image_model)."),
    size: Optional[str] = typer.Option(None, "--size", "-s", help="WIDTHxHEIGHT, e.g. 1024x1024 (or auto)."),
    quality: Optional[str] = typer.Option(None, "--quality", help="e.g. low, medium, high, auto; standard/hd for DALL-E."),
    style: Optional[str] = typer.Option(None, "--style", help="vivid or natural (DALL-E 3)."),
    n: int = typer.Option(1, "-n", "--n", min=1, help="How many images."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="png, jpeg or webp."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="A file, a directory, or '-' for raw bytes on stdout."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object describing the run."),
    no_substitute: bool = typer.Option(False, "--no-substitute", help="Fail (exit 2) rather than serve a retired model's successor."),
    fallback_on_refusal: bool = typer.Option(False, "--fallback-on-refusal", help="Try other providers after a content refusal."),
    deadline: Optional[float] = typer.Option(None, "--deadline", min=0.001, help="Total seconds for the whole run."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=0.001, help="Seconds for each attempt."),
    provider: Optional[List[str]] = typer.Option(None, "--provider", "-p", help="Only these providers (repeatable)."),
) -> None:
    from aigw.cli.common import make_context, read_stdin_text, run_async, run_options
    from aigw.cli.save import deliver_images
    from aigw.errors import UsageError
    from aigw.services.defaults import default_model
    from aigw.services.generate import generate
    from aigw.types import ImageRequest

    if fmt is not None and fmt not in ("png", "jpeg", "webp"):
        raise UsageError(f"unknown format {fmt}", hint="allowed: png, jpeg, webp")
    if output == "-" and (n > 1 or as_json):
        raise UsageError("-o - writes the raw bytes of one image", hint="use -n 1 without --json, or -o DIR")
    if fmt is None and output not in (None, "-"):
        # -o apple.jpg asks for a JPEG as plainly as --format jpeg does.
        fmt = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}.get(Path(output).suffix.lower())
    text = read_stdin_text("prompt") if prompt in (None, "-") else prompt
    ctx = make_context()
    req = ImageRequest(prompt=text, model=model or default_model(ctx, "image"), size=size.lower() if size else None,
                       quality=quality, style=style, n=n, format=fmt or ctx.settings.defaults.image_format)
    opts = run_options(no_substitute=no_substitute, fallback_on_refusal=fallback_on_refusal, deadline=deadline,
                       timeout=timeout, providers=provider)
    result = run_async(generate(ctx, req, opts))
    paths = deliver_images(result.paths, output)
    STATE.info(cost_line(result))
    if as_json:
        from aigw.cli.output import print_json

        data = result.model_dump(mode="json")
        data.update(paths=paths, cache_paths=result.paths)
        print_json(data)
    elif output != "-":
        from aigw.cli.output import print_lines

        print_lines(paths)


def cost_line(result) -> str:  # type: ignore[no-untyped-def]
    from aigw.catalog.pricing import format_usd

    via = f"{result.model} at {result.provider}"
    est = f" (estimated {format_usd(result.estimated_cost_usd)})" if result.estimated_cost_usd != result.cost_usd else ""
    hops = f", {len(result.attempts)} attempts" if len(result.attempts) > 1 else ""
    return f"cost: {format_usd(result.cost_usd)}{est} · {result.latency_ms / 1000:.1f} s · {via}{hops}"
