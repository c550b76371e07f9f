"""The cache key: SHA-256 of the canonical request.

Canonical means two requests that ask for the same thing get the same key: keys sorted, values that
are unset (None, an empty list) left out, a default the catalog knows (an image model's size and
quality) written as that default whether the user gave it or not, and nothing that only says where
the result goes or how it is routed (-o, --provider, --fallback, --timeout, --max-cost...). Audio
is identified by the SHA-256 of its bytes, never by its file name. `version` changes when the
canonical form does, so an old entry can never answer a request it was not made for.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from aigw.types import ImageRequest, TranscribeRequest

VERSION = 1
CHUNK = 1 << 20


def key_of(request: dict[str, Any]) -> str:
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_HASHED: dict[tuple[str, int, int, int, int], str] = {}  # (path, dev, inode, size, mtime_ns) -> sha256
_HASHED_MAX = 64


def file_sha256(path: Path) -> str:
    """Streamed: a recording of any size is hashed in 1 MiB blocks, never held in memory; and once
    per process while it is unchanged (the cache key and the run log's record of the input both
    need it, and a long recording takes seconds)."""
    info = os.stat(path)
    seen = (os.path.abspath(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    if seen in _HASHED:
        return _HASHED[seen]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    if len(_HASHED) >= _HASHED_MAX:
        _HASHED.clear()
    _HASHED[seen] = digest.hexdigest()
    return _HASHED[seen]


def _params(request: BaseModel, exclude: set[str]) -> dict[str, Any]:
    """Every field of the request but those named, unless unset or at its default: a field added to
    the request later (as --diarize and the cue shaping were) is part of the key from then on, and a
    default given or not is the same request."""
    fields = type(request).model_fields
    return {name: value for name, value in request.model_dump(mode="json", exclude=exclude).items()
            if value is not None and value != [] and value != fields[name].default}


def image_request(req: ImageRequest, *, default_size: str | None, default_quality: str | None) -> dict[str, Any]:
    """The defaults are the requested model's, from the catalog (None where unknown: a provider's own
    id, a model that lets the provider choose); they stand in for a size or quality not given.
    `enhancers` keep the order given: it is the order appended to the prompt."""
    size = req.size if req.size is not None or req.aspect_ratio is not None else default_size
    resolved = req.model_copy(update={"size": size, "quality": req.quality or default_quality})
    return {"version": VERSION, "kind": "image", "model": req.model, "prompt": req.prompt,
            "params": _params(resolved, {"model", "prompt"})}


def audio_request(req: TranscribeRequest, audio_sha256: str) -> dict[str, Any]:
    """Keyed by format too: each format asked for is its own entry (see README, The result cache)."""
    return {"version": VERSION, "kind": "audio", "model": req.model, "audio_sha256": audio_sha256,
            "params": _params(req, {"model", "file"})}
