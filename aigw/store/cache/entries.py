"""Cache entries on disk: `<cache>/cache/<k[:2]>/<key>/`, the artefacts and a manifest.json.

An artefact is the same file as the run's result under results/ (a hard link; a copy where the
filesystem will not link), so removing an entry never removes a result the user has, and removing a
result never breaks an entry. An entry appears whole or not at all: it is built in
`cache/.tmp/<key>.<pid>.<token>/` and renamed into place. Every read checks each artefact's size and
SHA-256 against the manifest, so a partial, edited or truncated entry is reported (Damaged), never
served; the next paid run of the same request replaces it.

The entry directory's mtime is its last use (set when it is made and at each hit): `prune` removes
the least recently used first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigw.store.files import PRIVATE_DIR, PRIVATE_FILE, private_dirs

MANIFEST = "manifest.json"
FORMAT = 1  # of the manifest; an entry in another format is not served
TMP = ".tmp"
STALE_TMP_S = 3600.0  # a build directory this old was left by a process that died


class Damaged(Exception):
    """An entry is there but cannot be served (the reason is the message)."""


@dataclass(frozen=True)
class Entry:
    key: str
    path: Path
    manifest: dict[str, Any]
    files: list[Path] = field(default_factory=list)  # the artefacts, in the manifest's order
    bytes: int = 0  # artefacts and manifest
    last_used: float = 0.0  # unix time
    damaged: str | None = None  # scan() only: why it could not be read

    def get(self, name: str, default: Any = None) -> Any:
        return self.manifest.get(name, default)


def link_or_copy(src: Path, dest: Path) -> None:
    """dest becomes the same file as src (a hard link), else a private copy of it: across
    filesystems, or where links are not allowed."""
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
        os.chmod(dest, PRIVATE_FILE)


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def _plain_name(name: object) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..", MANIFEST) and "/" not in name and "\\" not in name


class ResultCache:
    def __init__(self, cache_dir: Path) -> None:
        self.top = cache_dir  # everything aigw makes below it is private (store/files.py)
        self.root = cache_dir / "cache"

    def entry_dir(self, key: str) -> Path:
        return self.root / key[:2] / key

    # ---- reading ---------------------------------------------------------------------------------

    def get(self, key: str) -> Entry | None:
        """The entry, verified; None when there is none; Damaged when one is there but is not whole."""
        where = self.entry_dir(key)
        if not where.is_dir():
            return None
        manifest = self._manifest(where)
        if manifest.get("key") != key:
            raise Damaged("its manifest names another key")
        files, total = [], (where / MANIFEST).stat().st_size
        for item in manifest["files"]:
            path = where / item["name"]
            try:
                sha, size = _sha256(path)
            except OSError as exc:
                raise Damaged(f"{item['name']}: {exc.strerror or exc}") from exc
            if size != item["bytes"] or sha != item["sha256"]:
                raise Damaged(f"{item['name']} does not match its manifest (changed or truncated)")
            files.append(path)
            total += size
        return Entry(key, where, manifest, files, total, where.stat().st_mtime)

    def _manifest(self, where: Path) -> dict[str, Any]:
        try:
            manifest = json.loads((where / MANIFEST).read_bytes())
        except OSError as exc:
            raise Damaged(f"no readable manifest ({exc.strerror or exc})") from exc
        except ValueError as exc:
            raise Damaged("its manifest is not valid JSON") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise Damaged("its manifest is of an unknown format")
        files = manifest.get("files")
        if not isinstance(files, list) or not files or not all(
                isinstance(f, dict) and _plain_name(f.get("name")) and isinstance(f.get("bytes"), int)
                and isinstance(f.get("sha256"), str) for f in files):
            raise Damaged("its manifest lists no valid files")
        return manifest

    def touch(self, entry: Entry) -> None:
        """Mark it used now (prune keeps recently used entries); best effort."""
        with contextlib.suppress(OSError):
            os.utime(entry.path)

    def scan(self) -> list[Entry]:
        """Every entry with its size and last use, unverified (a listing reads no artefact);
        one whose manifest cannot be read is listed with `damaged` set, so prune can remove it."""
        found = []
        for where in self._dirs():
            try:
                manifest, damaged = self._manifest(where), None
            except Damaged as exc:
                manifest, damaged = {}, str(exc)
            try:
                total = sum(p.stat().st_size for p in where.iterdir() if p.is_file())
                used = where.stat().st_mtime
            except OSError:  # removed while we looked
                continue
            files = [where / f["name"] for f in manifest.get("files", [])]
            found.append(Entry(where.name, where, manifest, files, total, used, damaged))
        return found

    def _dirs(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        for fan in sorted(self.root.iterdir()):
            if fan.name == TMP or not fan.is_dir():
                continue
            yield from (d for d in sorted(fan.iterdir()) if d.is_dir())

    # ---- writing ---------------------------------------------------------------------------------

    def put(self, key: str, manifest: dict[str, Any], artefacts: list[tuple[Path, str]]) -> Entry:
        """A new entry for `key` from result files ((path, name in the entry) each), replacing any
        entry there; whole or not at all."""
        build = self._build_dir(key)
        try:
            listed = []
            for src, name in artefacts:
                assert _plain_name(name), name
                link_or_copy(src, build / name)
                sha, size = _sha256(build / name)
                listed.append({"name": name, "bytes": size, "sha256": sha})
            body = json.dumps({**manifest, "format": FORMAT, "key": key, "files": listed}, indent=1, default=str)
            fd = os.open(build / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
            with open(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
            self._place(key, build)
        finally:
            shutil.rmtree(build, ignore_errors=True)  # gone already when it was placed
        entry = self.get(key)
        if entry is None:  # removed by a concurrent clear the instant it appeared
            raise FileNotFoundError(self.entry_dir(key))
        return entry

    def _build_dir(self, key: str) -> Path:
        tmp = self.root / TMP
        private_dirs(tmp, self.top)
        build = tmp / f"{key}.{os.getpid()}.{secrets.token_hex(4)}"
        os.mkdir(build, PRIVATE_DIR)
        os.chmod(build, PRIVATE_DIR)
        return build

    def _place(self, key: str, build: Path) -> None:
        final = self.entry_dir(key)
        private_dirs(final.parent, self.top)
        old = None
        if final.exists():  # --refresh, or a damaged entry: set aside, then replaced
            old = build.with_name(build.name + ".old")
            with contextlib.suppress(FileNotFoundError):
                os.rename(final, old)
        try:
            os.rename(build, final)
        except OSError:
            if not final.is_dir():
                raise
            # Another aigw placed the same request's entry first: it is as good as ours.
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)

    def remove(self, entry: Entry) -> int:
        """Delete one entry; return the bytes this freed on disk: an artefact still linked from
        results/ frees nothing, since the result keeps the data."""
        freed = 0
        with contextlib.suppress(OSError):
            for path in entry.path.iterdir():
                with contextlib.suppress(OSError):
                    info = path.stat()
                    path.unlink()
                    if info.st_nlink == 1:
                        freed += info.st_size
        with contextlib.suppress(OSError):
            entry.path.rmdir()
        with contextlib.suppress(OSError):
            entry.path.parent.rmdir()  # the fan-out directory, when it was the last entry there
        return freed

    def sweep_builds(self, now: float | None = None) -> None:
        """Build directories left by a process that died mid-write."""
        tmp = self.root / TMP
        if not tmp.is_dir():
            return
        limit = (time.time() if now is None else now) - STALE_TMP_S
        for build in tmp.iterdir():
            with contextlib.suppress(OSError):
                if build.stat().st_mtime < limit:
                    shutil.rmtree(build, ignore_errors=True)
