"""What `aigi-scd compress` compresses: the shards of a build (AIGI sets, one per generated model or imported
source) and image folders (natural sets, such as Kodak), both cut into shards of images that are the unit of
work and of resuming. An imported original is compressed from its own file (a JPEG as its generator made it);
a folder image with a sidecar prompt (``x.txt``/``x.json``) carries that prompt to the codec, as a build's do."""

from __future__ import annotations

import io
import json
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from aigi_scd.bench.originals import files_digests, tar_digests
from aigi_scd.codec.errors import ImageInputError
from aigi_scd.codec.image import MAX_PIXELS, to_rgb8
from aigi_scd.dataset.integrity import shard_files_problem
from aigi_scd.dataset.sample import sha256
from aigi_scd.dataset.shards import (
    finished_shards,
    image_field,
    iter_samples,
    model_data_dir,
    read_manifest,
    repair_hint,
    shard_name,
    source_names,
)
from aigi_scd.errors import ConfigError, DamagedDataError
from aigi_scd.prompts.sidecar import IMAGE_SUFFIXES, image_files, sidecar_prompt

SourceKind = Literal["aigi", "natural"]


@dataclass(frozen=True)
class Item:
    """One original image: its key, its encoded file bytes, and the prompt it was generated from (when known)."""

    key: str
    data: bytes
    prompt: dict[str, Any] | None
    origin: str  # where the original lives, relative to its set: a shard tar member or a file name


@dataclass
class SourceShard:
    """A batch of originals from one set; `keys` is known without reading the images."""

    source: str
    kind: SourceKind
    index: int
    keys: list[str]
    _load: Callable[[], Iterator[Item]] = field(repr=False)
    _digests: Callable[[], dict[str, str]] | None = field(default=None, repr=False)
    _known: dict[str, str] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return f"{self.source}-{self.index:05d}"

    def digests(self) -> dict[str, str]:
        """Key → sha256 of each original as it is now (read once: :mod:`aigi_scd.bench.originals`)."""
        if self._known is None:
            if self._digests is not None:
                self._known = self._digests()
            else:
                self._known = {item.key: sha256(item.data) for item in self._load()}
        return self._known

    def iter_items(self) -> Iterator[Item]:
        """The originals one at a time (memory holds one, whatever the shard's size); ConfigError at the end
        when they are not the shard's keys any more."""
        expected = iter(self.keys)
        for item in self._load():
            if item.key != next(expected, None):
                break
            yield item
        else:
            if next(expected, None) is None:
                return
        raise ConfigError(f"{self.name}: its images changed while compressing; run again")

    def items(self) -> list[Item]:
        return list(self.iter_items())


@dataclass
class Source:
    """A named set of originals: a build model (AIGI) or an image folder (natural)."""

    name: str
    kind: SourceKind
    root: Path
    shards: list[SourceShard]
    shard_size: int | None = None  # image folders: images per shard (recorded so the split can be redone)

    @property
    def size(self) -> int:
        return sum(len(s.keys) for s in self.shards)

    def items_by_key(self, keys: set[str]) -> Iterator[Item]:
        """The originals of `keys`, one at a time, in shard order."""
        for shard in self.shards:
            if keys.intersection(shard.keys):
                yield from (item for item in shard.iter_items() if item.key in keys)


def load_rgb(data: bytes, name: str = "the image") -> Image.Image:
    """An original as the codecs and the metrics both see it: 8-bit RGB (the codecs' own conversion).
    An unreadable one raises ImageInputError naming `name` (never Pillow's in-memory buffer)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # to_rgb8 refuses those with one line
            with Image.open(io.BytesIO(data)) as image:
                return to_rgb8(image)  # checks the size before any pixel is decoded
    except ImageInputError as exc:
        raise ImageInputError(f"{name}: {exc}") from None
    except Image.DecompressionBombError as exc:
        raise ImageInputError(f"{name}: larger than the supported {MAX_PIXELS // 2**20} MP ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        reason = str(exc).split(" <_io.")[0].replace("cannot identify image file", "not an image file Pillow reads")
        raise ImageInputError(f"{name}: cannot read it ({reason})") from None


def safe_name(text: str) -> str:
    """A name usable in sample keys and file names: no dots (datasets splits field names at the first dot)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or "images"


def build_sources(build: Path) -> list[Source]:
    """One AIGI source per generated model and per imported source of a build, over its finished shards."""
    build = Path(build)
    manifest_path = build / "build.json"
    if not manifest_path.is_file():
        raise ConfigError(
            f"{build} is not an aigi-scd build (no build.json); to compress an image folder use "
            "`aigi-scd compress --images FOLDER --out DIR`"
        )
    manifest = read_manifest(build)
    sources = []
    for model in source_names(manifest):
        shards = []
        for index, stats in sorted(finished_shards(build, model).items()):
            problem = shard_files_problem(build, model, index, stats)  # headers only: cheap
            if problem:
                raise DamagedDataError(problem, repair_hint(model_data_dir(build, model)))
            if not stats.get("kept"):
                continue
            tar = model_data_dir(build, model) / shard_name(index)
            keys = list(stats["keys"])
            shards.append(SourceShard(model, "aigi", index, keys, _shard_loader(tar, build), partial(tar_digests, tar)))
        if shards:
            sources.append(Source(model, "aigi", build, shards))
    if not sources:
        raise ConfigError(f"{build}: the build has no finished shards yet; run `aigi-scd build` first")
    return sources


def _shard_loader(tar: Path, build: Path) -> Callable[[], Iterator[Item]]:
    def load() -> Iterator[Item]:
        for sample in iter_samples(tar):
            meta = json.loads(sample["json"])
            member = image_field(sample) or "png"  # an imported original keeps its format: jpg, webp
            data = sample[member]
            if meta.get("sha256") != sha256(data):  # never benchmark a damaged original in silence
                raise DamagedDataError(
                    f"{tar}: {sample['__key__']}: the {member}'s sha256 differs from the one its json records",
                    repair_hint(tar),
                )
            yield Item(sample["__key__"], data, meta.get("prompt"), str(tar.relative_to(build)))

    return load


def folder_source(folder: Path, shard_size: int = 64, name: str | None = None) -> Source:
    """A natural-image set: the images in `folder` and its subfolders (as `aigi-scd import` reads a folder), sorted
    by relative path, `shard_size` per shard; an image's sidecar prompt (``x.txt`` or ``x.json`` beside it) goes
    with it to the codecs. Keys come from the relative path (``sub/x.png`` → ``<set>-sub_x``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"--images {folder}: not a folder")
    if shard_size < 1:
        raise ConfigError(f"--shard-size must be at least 1, got {shard_size}")
    files = image_files(folder)
    if not files:
        raise ConfigError(f"--images {folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder or below")
    source = safe_name(name or folder.resolve().name)
    relative = [p.relative_to(folder).with_suffix("").as_posix() for p in files]
    keys = [f"{source}-{safe_name(r)}" for r in relative]
    first: dict[str, str] = {}
    for key, path in zip(keys, (p.relative_to(folder).as_posix() for p in files), strict=True):
        if key in first:
            raise ConfigError(
                f"--images {folder}: {first[key]} and {path} differ only in extension, symbols or folder, so both "
                f"would be {key}; rename one"
            )
        first[key] = path
    shards = []
    for index, start in enumerate(range(0, len(files), shard_size)):
        chunk = list(zip(keys[start : start + shard_size], files[start : start + shard_size], strict=True))
        digests = partial(files_digests, chunk)
        shards.append(
            SourceShard(source, "natural", index, [k for k, _ in chunk], _folder_loader(chunk, folder), digests)
        )
    return Source(source, "natural", folder.resolve(), shards, shard_size)


def _folder_loader(chunk: list[tuple[str, Path]], folder: Path) -> Callable[[], Iterator[Item]]:
    def load() -> Iterator[Item]:
        for key, path in chunk:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
            prompt = sidecar_prompt(path)
            yield Item(key, data, prompt.to_json() if prompt else None, path.relative_to(folder).as_posix())

    return load
