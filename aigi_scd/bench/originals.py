"""Which originals a compressed unit was made from, and whether they are still the originals of its source.

Keys alone do not say it: an image replaced under the same file name, or a build shard made again (its bytes
depend on its batches), keeps its keys. Every results row records its original's sha256; a unit whose rows'
hashes are not those of its source shard as it is now is stale: ``compress`` redoes it, the tables leave it
out and ``verify`` reports it (:mod:`aigi_scd.bench.stale`).

The current hashes are cheap to get: a build sample's json records the sha256 of its image (only the json
members of the tar are read, the images are skipped), and an image folder's files are hashed once per process
and file version (path, size, modification time).
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aigi_scd.dataset.shards import base_plus_ext
from aigi_scd.errors import DamagedDataError

ORIGINAL = "original_sha256"  # the results column
_FILE_HASHES: dict[tuple[str, int, int], str] = {}


def tar_digests(tar: Path) -> dict[str, str]:
    """Key → the sha256 its json records for its image, from the json members of a build tar alone."""
    found: dict[str, str] = {}
    try:
        with tarfile.open(tar, mode="r:") as opened:
            for member in opened:
                key, ext = base_plus_ext(member.name)
                if not member.isfile() or key is None or ext.lower() != "json":
                    continue
                handle = opened.extractfile(member)
                record = json.loads(handle.read()) if handle is not None else {}
                digest = record.get("sha256") if isinstance(record, dict) else None
                if isinstance(digest, str):
                    found[key] = digest
    except (OSError, tarfile.TarError, EOFError, ValueError) as exc:
        raise DamagedDataError(f"{tar}: cannot read its samples' json ({exc})") from None
    return found


def file_digest(path: Path) -> str:
    """The sha256 of a file, remembered for this version of it (path, size, modification time)."""
    stat = path.stat()
    version = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if version not in _FILE_HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _FILE_HASHES[version] = digest.hexdigest()
    return _FILE_HASHES[version]


def files_digests(files: Iterable[tuple[str, Path]]) -> dict[str, str]:
    """Key → sha256 of each (key, file) of an image folder's shard (a file that cannot be read has none)."""
    found = {}
    for key, path in files:
        try:
            found[key] = file_digest(path)
        except OSError:
            continue
    return found


def originals_problem(rows: list[dict[str, Any]], current: dict[str, str]) -> str | None:
    """Why a unit's rows were not made from the `current` originals (key → sha256), or None when they were."""
    unrecorded = [r.get("key") for r in rows if not r.get(ORIGINAL)]
    if unrecorded:
        return (
            f"its rows record no original sha256 ({unrecorded[0]}; written by an older aigi-scd), so they cannot "
            "be checked against the originals as they are now"
        )
    changed = [r["key"] for r in rows if current.get(r["key"]) != r[ORIGINAL]]
    if changed:
        return (
            f"{len(changed)} of its {len(rows)} originals changed after it was compressed (first: {changed[0]}, "
            f"now sha256 {str(current.get(changed[0]) or 'unreadable')[:12]}…, compressed from "
            f"{next(r[ORIGINAL] for r in rows if r['key'] == changed[0])[:12]}…)"
        )
    return None
