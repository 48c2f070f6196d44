"""``kind: external``: results made elsewhere — bitstreams and reconstructions that another environment produced
(a generative codec with its own dependencies and GPU), scored here as if this package had run the codec.

The folder holds one subfolder per target bpp, and in it, per image, the bitstream and its reconstruction named
by the set's key::

    RESULTS/codec.yaml                 optional: name, description, decoder, tolerance, fixed_bytes
    RESULTS/0.03/<key>.<anything>      the bitstream, byte for byte: bpp = 8 × its size / pixels
    RESULTS/0.03/<key>.png             its reconstruction (lossless)

With a ``decoder`` (a codec preset that reads these bitstreams), every bitstream is decoded again and must give
the reconstruction (within ``tolerance`` per pixel value); without one, the rows and tables say the decode was not
verified. :func:`check_results` (run by ``compress`` before any work) finds missing and extra keys, unreadable
files and reconstructions of the wrong size.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from aigi_scd.codec.base import CodecBase, Encoded
from aigi_scd.codec.errors import BitstreamError, ImageInputError
from aigi_scd.codec.image import to_rgb8
from aigi_scd.errors import ConfigError

RECONSTRUCTION = ".png"
OPTIONS = ("results", "decoder", "tolerance")


@dataclass(frozen=True)
class ResultFiles:
    bitstream: Path
    reconstruction: Path | None


def target_folders(root: Path) -> dict[float, Path]:
    """The target subfolders of a results folder, by bpp (``0.03`` → 0.03)."""
    found = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            value = float(sub.name)
        except ValueError:
            continue
        if math.isfinite(value) and value > 0:
            found[value] = sub
    return found


def index_folder(folder: Path) -> tuple[dict[str, ResultFiles], list[str]]:
    """key → its files in one target folder, and the problems found (a key with two bitstreams, none, ...)."""
    by_key: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            by_key.setdefault(path.stem, []).append(path)
    index, problems = {}, []
    for key, paths in by_key.items():
        recon = [p for p in paths if p.suffix.lower() == RECONSTRUCTION]
        bits = [p for p in paths if p.suffix.lower() != RECONSTRUCTION]
        if len(bits) != 1:
            what = "no bitstream" if not bits else f"{len(bits)} bitstreams ({', '.join(p.name for p in bits)})"
            problems.append(f"{folder / key}: {what}; give exactly one file {key}.<ext> beside {key}.png")
            continue
        index[key] = ResultFiles(bits[0], recon[0] if recon else None)
    return index, problems


def read_reconstruction(path: Path | None, bitstream: Path) -> Image.Image:
    if path is None:
        raise ImageInputError(f"{bitstream} has no reconstruction beside it; add {bitstream.with_suffix('.png').name}")
    try:
        with Image.open(path) as opened:
            opened.load()
            return opened.convert("RGB")
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageInputError(
            f"reconstruction {path} cannot be read as an image ({exc}); write it again as a PNG"
        ) from None


@dataclass
class ExternalResults(CodecBase):
    name: str
    root: Path
    decoder: Any = None  # a codec that decodes the bitstreams, or None: the decode is not verified
    tolerance: int = 0
    fixed: int | None = None
    _indexes: dict[float, dict[str, ResultFiles]] = field(default_factory=dict)
    _given: dict[str, Path] = field(default_factory=dict)  # bitstream sha256 → its reconstruction

    def targets(self) -> list[float]:
        return sorted(target_folders(self.root))

    def files(self, target: float) -> dict[str, ResultFiles]:
        if target not in self._indexes:
            folders = target_folders(self.root)
            if target not in folders:
                raise ConfigError(f"{self.root} has no folder for target {target:g}; its targets: {self.targets()}")
            self._indexes[target] = index_folder(folders[target])[0]
        return self._indexes[target]

    def encode_report(self, image: Any, target_bpp: float | None = None, **side: Any) -> Encoded:
        image = to_rgb8(image)
        key = side.get("key")
        if key is None or target_bpp is None:
            raise ConfigError(f"{self.name} holds results made elsewhere: it scores a set's keys at its targets only")
        entry = self.files(target_bpp).get(key)
        if entry is None:
            raise ImageInputError(f"{self.root}: no bitstream for {key} at {target_bpp:g}")
        data = entry.bitstream.read_bytes()
        self._given[hashlib.sha256(data).hexdigest()] = entry.reconstruction or entry.bitstream
        info = {"decode_verified": self.decoder is not None, "bitstream_file": entry.bitstream.name}
        return Encoded(data, *image.size, {**info, "fixed_bytes": self.fixed})

    def decode(self, data: bytes) -> Image.Image:
        given_path = self._given.get(hashlib.sha256(data).hexdigest())
        if given_path is None:
            if self.decoder is None:
                raise BitstreamError(f"{self.name} has no decoder; give options.decoder to decode its files", 0)
            return self.decoder.decode(data)
        given = read_reconstruction(None if given_path.suffix != RECONSTRUCTION else given_path, given_path)
        if self.decoder is None:
            return given
        decoded = self.decoder.decode(data)
        if decoded.size != given.size:
            raise BitstreamError(f"the decoder gives {decoded.size}, but {given_path.name} is {given.size}")
        diff = int(np.abs(np.asarray(decoded, np.int16) - np.asarray(given, np.int16)).max())
        if diff > self.tolerance:
            raise BitstreamError(
                f"the decoder's output differs from {given_path} by up to {diff} (tolerance {self.tolerance}); "
                "the bitstream does not give that reconstruction"
            )
        return given


def folder_preset(root: Path):
    """The preset of a results folder: its ``codec.yaml`` when it has one, else named after the folder."""
    from aigi_scd.codec.presets import CodecPreset, load_codec_preset_file

    root = Path(root)
    config = root / "codec.yaml"
    if config.is_file():
        preset = load_codec_preset_file(config)
        if preset.kind != "external":
            raise ConfigError(f"{config}: kind must be external for a results folder, not {preset.kind!r}")
        options = {**preset.options, "results": str(root)}
        import dataclasses

        return dataclasses.replace(preset, options=options)
    description = f"results made elsewhere, read from {root}"
    return CodecPreset(name=root.name, kind="external", description=description, options={"results": str(root)},
                       source=str(root))  # fmt: skip


def build_external(preset) -> ExternalResults:
    where = f"{preset.source or preset.name}: options"
    unknown = sorted(set(preset.options) - set(OPTIONS))
    if unknown:
        raise ConfigError(f"{where}: unknown option {unknown[0]!r}; options: {', '.join(OPTIONS)}")
    results = preset.options.get("results")
    if not results:
        raise ConfigError(f"{where}: results is required (the folder of bitstreams and reconstructions)")
    root = Path(results)
    if not root.is_absolute() and preset.source and Path(preset.source).is_file():
        root = Path(preset.source).parent / root
    if not root.is_dir():
        raise ConfigError(f"{where}: results folder {root} does not exist")
    if not target_folders(root):
        raise ConfigError(f"{root} has no target folders; put each target's files in a folder named by its bpp (0.03/)")
    decoder = None
    if preset.options.get("decoder"):
        from aigi_scd.codec.registry import get_codec

        decoder = get_codec(str(preset.options["decoder"]))
    tolerance = preset.options.get("tolerance", 0)
    if not isinstance(tolerance, int) or not 0 <= tolerance <= 255:
        raise ConfigError(f"{where}: tolerance must be an integer 0..255 (pixel values), got {tolerance!r}")
    return ExternalResults(preset.name, root, decoder, tolerance, preset.fixed_bytes)


def image_size(data: bytes) -> tuple[int, int] | None:
    """The size an image file's header declares (None: not an image Pillow reads)."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            return opened.size
    except (OSError, SyntaxError, ValueError):
        return None
