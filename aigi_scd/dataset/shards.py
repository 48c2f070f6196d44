"""WebDataset shards: atomic writing, per-shard stats that mark a shard done, and reading back.

Layout under a build folder::

    build.json                       the build's manifest: configuration, cards, prompts, command, imports
    data/<source>/train-NNNNN.tar    kept samples (png + json; an imported original keeps its format: jpg, webp)
    data/<model>/NNNNN.stats.json    written last: its presence means shard NNNNN is complete
    rejects/<model>/rejects-NNNNN.tar  rejected samples (json, and png when there are pixels)

A tar is written to ``<name>.tmp`` and renamed when complete, so a reader never sees half a shard
and a killed build leaves only ``.tmp`` files, which the next run discards.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aigi_scd.dataset.files import ensure_dir, fsync_dir, read_json_or_explain, unwritable
from aigi_scd.errors import DamagedDataError, OutputDirError

MANIFEST = "build.json"  # a build folder's manifest (see aigi_scd.build.manifest)
TAR_MTIME = 0  # fixed member times make equal samples give byte-identical tars
TAR_OWNER = "aigi-scd"  # the user and group of every member
# The image member of a sample, by its extension: generated images are PNG; imported originals are kept in
# their own format (``aigi-scd import``), so a sample holds exactly one of these.
IMAGE_FIELDS = ("png", "jpg", "webp")


def image_field(sample: dict[str, Any]) -> str | None:
    """Which of :data:`IMAGE_FIELDS` a sample read by :func:`iter_samples` holds (None: no pixels were stored)."""
    return next((name for name in IMAGE_FIELDS if name in sample), None)


def source_names(manifest: dict[str, Any]) -> list[str]:
    """Every source of a build folder, in order: the generated models (``models``), then the imported sources
    (``imports``, in the order they were first imported)."""
    return [*manifest.get("models", []), *imported_sources(manifest)]


def imported_sources(manifest: dict[str, Any]) -> list[str]:
    """The sources added by ``aigi-scd import``, first imported first (``imports`` is a list of records)."""
    return [record["source"] for record in manifest.get("imports") or []]


REPAIR_HINT = "run `aigi-scd verify {out} --repair`, which says what it repairs and what to regenerate"


def shard_name(index: int) -> str:
    return f"train-{index:05d}.tar"


def stats_name(index: int) -> str:
    return f"{index:05d}.stats.json"


def model_data_dir(out: Path, model: str) -> Path:
    return Path(out) / "data" / model


def model_reject_dir(out: Path, model: str) -> Path:
    return Path(out) / "rejects" / model


def reject_name(index: int) -> str:
    return f"rejects-{index:05d}.tar"


class AtomicTarWriter:
    """A WebDataset tar that appears under its final name only when :meth:`commit` is called.

    The file is opened on the first sample, so a shard with nothing to write leaves no file. The members are the
    ones ``webdataset.TarWriter(user=TAR_OWNER, group=TAR_OWNER, mtime=TAR_MTIME, encoder=False)`` writes, byte for byte
    (tests/test_shards.py compares them), written with :mod:`tarfile` itself because importing webdataset imports
    torch: 2 s and 640 MB in a process (compress's main one) that otherwise never needs it.
    """

    def __init__(self, final: Path):
        self.final = Path(final)
        self.tmp = self.final.with_name(self.final.name + ".tmp")
        self.count = 0
        self._file = None
        self._writer = None

    def write(self, key: str, fields: dict[str, bytes]) -> None:
        if "." in key:
            raise ValueError(f"sample key {key!r} contains a dot; datasets would split the field name there")
        try:
            if self._writer is None:
                ensure_dir(self.final.parent)
                self._file = open(self.tmp, "wb")  # noqa: SIM115 - held open by the writer until commit or abort
                self._writer = tarfile.open(fileobj=self._file, mode="w|")  # noqa: SIM115 - closed by commit or abort
            for name in sorted(fields):  # the members webdataset's TarWriter writes for this sample, byte for byte
                if name.startswith("_"):
                    continue
                data = fields[name].encode("utf-8") if isinstance(fields[name], str) else fields[name]
                member = tarfile.TarInfo(f"{key}.{name}")
                member.size, member.mtime, member.mode = len(data), TAR_MTIME, 0o444
                member.uname = member.gname = TAR_OWNER
                self._writer.addfile(member, io.BytesIO(data))
        except OSError as exc:
            self._fail(exc)
        self.count += 1

    def _fail(self, exc: OSError):
        """Discard the temporary file; a full, read-only or forbidden place becomes one line naming the tar."""
        self.abort()
        raise unwritable(self.final, exc) from exc

    def commit(self) -> Path | None:
        """Close, flush to disk and rename into place; returns the final path (None if nothing was written)."""
        if self._writer is None:
            return None
        try:
            self._writer.close()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._writer = None
            os.replace(self.tmp, self.final)
        except OSError as exc:
            self._fail(exc)
        except BaseException:  # Ctrl-C mid-commit: the temporary file goes, the final name is untouched
            self.abort()
            raise
        fsync_dir(self.final.parent)
        return self.final

    def abort(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            with contextlib.suppress(OSError):  # the file is discarded anyway (e.g. the disk is full)
                writer.close()
            with contextlib.suppress(OSError):  # closing flushes, and a full disk refuses the flush too
                self._file.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink(missing_ok=True)


_MEMBER_NAME = re.compile(r"^((?:.*/|)[^.]+)[.]([^/]*)$")  # webdataset.tariterators.base_plus_ext's pattern


def base_plus_ext(name: str) -> tuple[str | None, str | None]:
    """A tar member's (sample key, extension), split at the first dot of its file name: what
    ``webdataset.tariterators.base_plus_ext`` returns (tests/test_shards.py compares them), without importing
    webdataset and with it torch."""
    match = _MEMBER_NAME.match(name)
    return (match.group(1), match.group(2)) if match else (None, None)


def iter_samples(path: Path) -> Iterator[dict[str, Any]]:
    """Samples of a WebDataset tar as ``{"__key__": key, ext: bytes, ...}``: consecutive members that
    share a key, split at the first dot of the file name as webdataset and datasets do."""
    sample: dict[str, Any] | None = None
    try:
        with tarfile.open(path, mode="r|") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                key, ext = base_plus_ext(member.name)
                if key is None:
                    continue
                if sample is not None and sample["__key__"] != key:
                    yield sample
                    sample = None
                if sample is None:
                    sample = {"__key__": key}
                sample[ext.lower()] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError) as exc:
        raise DamagedDataError(f"{path}: the tar is damaged ({exc})", repair_hint(path)) from None
    except FileNotFoundError:
        raise DamagedDataError(f"{path}: the tar is missing", repair_hint(path)) from None
    if sample is not None:
        yield sample


def repair_hint(path: Path) -> str:
    """How to repair the folder that holds `path` (the output folder: above data/, rejects/ or compressed/)."""
    path = Path(path)
    for parent in path.parents:
        if parent.name in ("data", "rejects", "compressed", ".filter-staging"):
            return REPAIR_HINT.format(out=parent.parent)
    return REPAIR_HINT.format(out=path.parent)


def read_manifest(out: Path) -> dict[str, Any]:
    """A build folder's ``build.json``; one line naming the problem when it is missing or unreadable."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise OutputDirError(f"{out} holds no aigi-scd build ({MANIFEST} is missing); give the --out of a build")
    manifest = read_json_or_explain(
        path, "the build manifest", "restore it, or rebuild with the original build command and --overwrite"
    )
    if not isinstance(manifest, dict) or not {"config", "models", "prompts"} <= set(manifest):
        raise DamagedDataError(
            f"{path}: not an aigi-scd build manifest (no config, models or prompts)",
            "restore it, or rebuild with the original build command and --overwrite",
        )
    return manifest


def stats_files(out: Path, model: str) -> dict[int, Path]:
    """Index → stats file of every shard of `model` that has one (names that are not ``NNNNN.stats.json``
    are not ours and are left alone)."""
    found = {}
    for path in sorted(model_data_dir(out, model).glob("*.stats.json")):
        head = path.name.split(".")[0]
        if head.isdigit():
            found[int(head)] = path
    return found


def read_stats(path: Path) -> dict[str, Any]:
    """One shard's stats file; DamagedDataError naming it (and the repair) when it is unreadable."""
    stats = read_json_or_explain(path, "the shard's stats file", repair_hint(path))
    if not isinstance(stats, dict) or not {"kept", "rejected", "keys"} <= set(stats):
        raise DamagedDataError(f"{path}: not a shard stats file (no kept, rejected or keys)", repair_hint(path))
    return stats


def finished_shards(out: Path, model: str) -> dict[int, dict[str, Any]]:
    """Index → stats of every complete shard of `model` (those with a stats file). An unreadable stats file
    raises DamagedDataError: its shard's tar may be in the dataset, so its counts must not vanish in silence
    (a resuming build instead redoes such shards: :func:`aigi_scd.dataset.integrity.resumable_shards`)."""
    return {index: read_stats(path) for index, path in stats_files(out, model).items()}


def discard_shard(out: Path, model: str, index: int) -> None:
    """Remove every trace of an unfinished shard so it can be written from scratch."""
    data, rejects = model_data_dir(out, model), model_reject_dir(out, model)
    for path in (data / shard_name(index), rejects / reject_name(index), data / stats_name(index)):
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".tmp").unlink(missing_ok=True)
