"""`aigw generate PROMPT`: images to files, one path per line on stdout."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional, cast

import typer

from aigw.cli import options as o
from aigw.cli.output import STATE

if TYPE_CHECKING:
    from aigw.types import ImageFormat

HELP = """Generate images from a prompt and print the path of each saved file.

PROMPT '-' or absent reads the prompt from stdin. Every image is also kept under the cache
directory's results/. Examples:

  aigw generate "a red apple" -m gpt-image-2 --size 1536x1024
  echo "a lighthouse at dusk" | aigw generate -n 2 -o out/
  aigw generate "a cat" -m dall-e-3 --json
  aigw generate "a fox" -m flux-schnell --style watercolor --seed 7
  aigw generate --batch prompts.jsonl -m flux-schnell -o out/ --concurrency 8
"""

IMAGE_FORMATS = ("png", "jpeg", "webp")
SUFFIX_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


def command(
    prompt: Optional[str] = typer.Argument(None, help="The prompt; '-' or absent reads stdin."),
    model: o.Model = None,
    size: Optional[str] = typer.Option(None, "--size", "-s", help="WIDTHxHEIGHT, e.g. 1024x1024 (or auto)."),
    aspect_ratio: Optional[str] = typer.Option(None, "--aspect-ratio", "-a", help="e.g. 16:9, for providers that take ratios."),
    quality: Optional[str] = typer.Option(None, "--quality", help="e.g. low, medium, high, auto; standard/hd for DALL-E."),
    style: Optional[str] = typer.Option(None, "--style", help="A model style (vivid, natural) or a preset: watercolor, "
                                        "oil_painting, digital_art, cartoon, realistic, sketch, anime."),
    enhance: Optional[List[str]] = typer.Option(None, "--enhance", help="high_detail, professional_lighting, "
                                                "sharp_focus, vibrant_colors, cinematic (repeatable)."),
    n: int = typer.Option(1, "-n", min=1, help="How many images."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="png, jpeg or webp."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed, where the provider takes one."),
    negative_prompt: Optional[str] = typer.Option(None, "--negative-prompt", help="What to keep out of the image."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Inference steps (diffusion models)."),
    guidance: Optional[float] = typer.Option(None, "--guidance", min=0.0, help="Guidance scale (diffusion models)."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="A file, a directory, or '-' for raw bytes on stdout."),
    as_json: o.AsJson = False,
    provider: o.Providers = None,
    fallback: o.Fallbacks = None,
    no_substitute: o.NoSubstitute = False,
    fallback_on_refusal: o.FallbackOnRefusal = False,
    deadline: o.Deadline = None,
    timeout: o.Timeout = None,
    dry_run: o.DryRun = False,
    max_cost: o.MaxCost = None,
    allow_unpriced: o.AllowUnpriced = False,
    batch: o.BatchFile = None,
    concurrency: o.Concurrency = 4,
    progress: o.ShowProgress = False,
    resume: o.Resume = None,
    new: o.NewBatch = False,
) -> None:
    if batch is not None or resume is not None:
        from aigw.cli import batch as batches

        if prompt is not None or batch is None:
            raise _usage("--batch FILE takes the prompts; give no PROMPT" if batch else "--resume needs --batch FILE")
        content, lines = batches.read_input(batch, "image")
        defaults = dict(model=model, size=size, aspect_ratio=aspect_ratio, quality=quality, style=style,
                        enhance=enhance, n=n, format=fmt, seed=seed, negative_prompt=negative_prompt, steps=steps,
                        guidance=guidance, output=output, provider=provider)
        opts = o.run_options(no_substitute=no_substitute, fallback_on_refusal=fallback_on_refusal, deadline=deadline,
                             timeout=timeout, providers=None, fallbacks=fallback, dry_run=dry_run, max_cost=None,
                             allow_unpriced=allow_unpriced)
        batches.run("image", content, lines, defaults, opts, as_json=as_json, concurrency=concurrency,
                    progress=progress, resume=resume, new=new, max_cost=max_cost, allow_unpriced=allow_unpriced)
        return
    from aigw.cli.common import make_engine, read_stdin_text, with_engine
    from aigw.cli.output import cost_line, print_json, print_lines, render_plan, run_json, stdout_is_tty
    from aigw.cli.save import deliver_images, format_from_output, stdout_data
    from aigw.errors import UsageError
    from aigw.services.defaults import default_model
    from aigw.types import ImageRequest

    STATE.json = as_json
    if fmt is not None and fmt not in IMAGE_FORMATS:
        raise UsageError(f"unknown format {fmt}", hint="allowed: " + ", ".join(IMAGE_FORMATS))
    if output == "-" and (n > 1 or as_json):
        raise UsageError("-o - writes the raw bytes of one image", hint="use -n 1 without --json, or -o DIR")
    if output == "-" and stdout_is_tty():  # as curl does: binary on a terminal is garbage, and paid for
        raise UsageError("-o - would write binary image data to the terminal",
                         hint="redirect it (-o - > cat.png) or pipe it, or give a file: -o cat.png")
    if aspect_ratio is not None and not _is_ratio(aspect_ratio):
        raise UsageError(f"bad aspect ratio {aspect_ratio}", hint="write it as W:H, e.g. 16:9")
    # -o apple.jpg asks for a JPEG as plainly as --format jpeg does.
    fmt = format_from_output(output, fmt, SUFFIX_FORMATS)
    text = read_stdin_text("prompt") if prompt in (None, "-") else prompt
    engine = make_engine()
    req = ImageRequest(
        prompt=text, model=model or default_model(engine, "image", providers=provider or (), dry_run=dry_run),
        size=size.lower() if size else None,
        aspect_ratio=aspect_ratio, quality=quality, style=style, enhancers=tuple(enhance or ()), n=n,
        format=cast("ImageFormat", fmt or engine.settings.defaults.image_format),  # pydantic checks it
        seed=seed, negative_prompt=negative_prompt, steps=steps,
        guidance=guidance,
    )
    opts = o.run_options(no_substitute=no_substitute, fallback_on_refusal=fallback_on_refusal, deadline=deadline,
                         timeout=timeout, providers=provider, fallbacks=fallback, dry_run=dry_run, max_cost=max_cost,
                         allow_unpriced=allow_unpriced)
    if dry_run:
        render_plan(with_engine(engine, lambda e: _plan(e, req, opts)), as_json)
        return
    result = with_engine(engine, lambda e: e.run(req, opts, output=output)).result
    paths = deliver_images(engine, result, output)
    STATE.info(cost_line(result))
    with stdout_data(engine, result):
        if as_json:
            print_json(run_json(result, paths=paths, cache_paths=result.paths))
        elif output != "-":
            print_lines(paths)


def _usage(message: str) -> Exception:
    from aigw.errors import UsageError

    return UsageError(message)


async def _plan(engine, req, opts):  # type: ignore[no-untyped-def]
    return engine.plan(req, opts)


def _is_ratio(value: str) -> bool:
    parts = value.split(":")
    return len(parts) == 2 and all(p.isdigit() and int(p) > 0 for p in parts)
