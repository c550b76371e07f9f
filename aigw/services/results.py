"""Writing result files into the cache and recording them in the run log."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from aigw.store.files import result_path, write_atomic
from aigw.types import ImageBlob

if TYPE_CHECKING:
    from aigw.services.context import Context
    from aigw.store import RunLog


def save_images(ctx: Context, log: RunLog, run_id: str, created: datetime, images: list[ImageBlob]) -> list[str]:
    paths = []
    for index, image in enumerate(images, start=1):
        path = result_path(ctx.cache_dir, run_id, created, image.ext, index if len(images) > 1 else None)
        digest = write_atomic(path, image.data)
        log.record_file(run_id, path, len(image.data), digest, created)
        paths.append(str(path))
    return paths


def save_text(ctx: Context, log: RunLog, run_id: str, created: datetime, body: str, ext: str) -> str:
    data = body.encode("utf-8")
    path = result_path(ctx.cache_dir, run_id, created, ext, None)
    digest = write_atomic(path, data)
    log.record_file(run_id, path, len(data), digest, created)
    return str(path)
