"""Build codecs from presets, and find the codec that wrote a file."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PIL import Image

from aigi_scd.codec.base import Codec
from aigi_scd.codec.baselines import AvifCodec, JpegCodec, WebpCodec
from aigi_scd.codec.bitstream import is_misc_file, parse
from aigi_scd.codec.errors import BitstreamError
from aigi_scd.codec.presets import CodecPreset, all_presets, load_codec_preset
from aigi_scd.codec.thumb import ThumbAvifCodec, read_size_box
from aigi_scd.errors import ConfigError

_BASELINES = {"jpeg": JpegCodec, "webp": WebpCodec, "avif": AvifCodec, "thumb-avif": ThumbAvifCodec}


def _with_options(cls, preset: CodecPreset):
    allowed = {f.name for f in dataclasses.fields(cls)} - {"name"}
    unknown = sorted(set(preset.options) - allowed)
    if unknown:
        raise ConfigError(
            f"{preset.source}: options: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}"
        )
    options = dict(preset.options)
    if "scales" in options:
        options["scales"] = tuple(float(s) for s in options["scales"])
    try:
        return cls(name=preset.name, **options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{preset.source}: options: {exc}") from None


def build_codec(preset: CodecPreset) -> Codec:
    """The codec a preset describes (models load lazily, on first encode or decode)."""
    if preset.kind in _BASELINES:
        return _with_options(_BASELINES[preset.kind], preset)
    from aigi_scd.codec.misc_factory import build_misc

    return build_misc(preset)


def get_codec(name_or_path: str, directory: Path | None = None) -> Codec:
    return build_codec(load_codec_preset(name_or_path, directory))


def sniff(data: bytes) -> str:
    """Which kind of file this is: misc, thumb-avif, avif, webp or jpeg (BitstreamError if none)."""
    if is_misc_file(data):
        return "misc"
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "thumb-avif" if read_size_box(data) is not None else "avif"
    raise BitstreamError("not a file any aigi-scd codec writes (unknown leading bytes)", 0)


def codec_for_file(data: bytes, directory: Path | None = None) -> Codec:
    """The codec that wrote `data`, from the file alone."""
    kind = sniff(data)
    presets = all_presets(directory)
    if kind == "misc":
        codec_id = parse(data).codec_id
        for preset in presets:
            if preset.kind == "misc" and preset.id == codec_id:
                return build_codec(preset)
        raise BitstreamError(f"written by codec id {codec_id}, which no preset in the codec registry has", 3)
    for preset in presets:
        if preset.kind == kind and preset.name == kind:
            return build_codec(preset)
    return _BASELINES[kind](name=kind)


def decode_file(data: bytes, directory: Path | None = None) -> tuple[Image.Image, Any]:
    """Decode any file an aigi-scd codec wrote; returns the image and the codec."""
    codec = codec_for_file(data, directory)
    return codec.decode(data), codec
