"""Build codecs from presets, and find the codec that wrote a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from aigi_scd.codec.base import Codec
from aigi_scd.codec.errors import BitstreamError
from aigi_scd.codec.formats.baselines import AvifCodec, JpegCodec, WebpCodec
from aigi_scd.codec.formats.hevc import HevcCodec
from aigi_scd.codec.formats.jpeg2000 import Jpeg2000Codec
from aigi_scd.codec.formats.jpegxl import JpegXlCodec
from aigi_scd.codec.formats.thumb import ThumbAvifCodec, read_size_box
from aigi_scd.codec.formats.thumbnail import DEFAULT_SCALES, TRAILER_BYTES, ThumbnailCodec, has_trailer
from aigi_scd.codec.misc.bitstream import is_misc_file, parse
from aigi_scd.codec.presets import CodecPreset, check_ranges, load_codec_preset, preset_listing
from aigi_scd.config import from_mapping
from aigi_scd.errors import ConfigError

_BASELINES = {
    "jpeg": JpegCodec,
    "webp": WebpCodec,
    "avif": AvifCodec,
    "thumb-avif": ThumbAvifCodec,
    "hevc": HevcCodec,
    "jpegxl": JpegXlCodec,
    "jpeg2000": Jpeg2000Codec,
}
THUMBNAIL_OPTIONS = ("base", "scales", "finalists", "min_fill", "default_scale")


def _with_options(cls, preset: CodecPreset):
    """The baseline codec `cls` with the preset's options, each checked against the field's type and range
    (``quality: "abc"`` or ``min_fill: 5`` is refused naming the key, never passed on)."""
    where = f"{preset.source or preset.name}: options"
    if "name" in preset.options:
        raise ConfigError(f"{where}: name is the preset's own `name:`, not an option")
    try:
        check_ranges(preset.options)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    codec = from_mapping(cls, {"name": preset.name, **preset.options}, where)
    if getattr(codec, "min_quality", 0) > getattr(codec, "max_quality", 100):
        raise ConfigError(f"{where}: min_quality {codec.min_quality} is above max_quality {codec.max_quality}")
    return codec


def _thumbnail(preset: CodecPreset) -> ThumbnailCodec:
    """``kind: thumbnail``: the codec named by ``options.base`` (any codec with a quality knob) on a thumbnail."""
    where = f"{preset.source or preset.name}: options"
    unknown = sorted(set(preset.options) - set(THUMBNAIL_OPTIONS))
    if unknown:
        raise ConfigError(f"{where}: unknown option {unknown[0]!r}; options: {', '.join(THUMBNAIL_OPTIONS)}")
    if "base" not in preset.options:
        raise ConfigError(f"{where}: base is required: the codec (name or path) to run on the thumbnail")
    try:
        check_ranges({k: v for k, v in preset.options.items() if k != "base"})
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    base = get_codec(str(preset.options["base"]))
    if not callable(getattr(base, "encode_at", None)) or not callable(getattr(base, "levels", None)):
        raise ConfigError(f"{where}: base {preset.options['base']!r} has no quality knob (encode_at and levels)")
    scales = tuple(float(s) for s in preset.options.get("scales", DEFAULT_SCALES))
    extra = {k: preset.options[k] for k in ("finalists", "min_fill", "default_scale") if k in preset.options}
    return ThumbnailCodec(preset.name, base, scales=scales, **extra)


def build_codec(preset: CodecPreset) -> Codec:
    """The codec a preset describes (models load lazily, on first encode or decode)."""
    if preset.kind in _BASELINES:
        return _with_options(_BASELINES[preset.kind], preset)
    if preset.kind == "thumbnail":
        return _thumbnail(preset)
    if preset.kind == "python":
        from aigi_scd.codec.plugins.python_class import build_python

        return build_python(preset)
    if preset.kind == "command":
        from aigi_scd.codec.plugins.command import build_command

        return build_command(preset)
    if preset.kind == "compressai":
        from aigi_scd.codec.plugins.compressai_codec import build_compressai

        return build_compressai(preset)
    if preset.kind == "external":
        from aigi_scd.codec.plugins.external import build_external

        return build_external(preset)
    from aigi_scd.codec.misc.factory import build_misc

    return build_misc(preset)


def get_codec(name_or_path: str, directory: Path | None = None) -> Codec:
    return build_codec(load_codec_preset(name_or_path, directory))


def _plain_kind(data: bytes) -> str | None:
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "avif"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1"):
        return "hevc"
    if data[:2] == b"\xff\x0a" or data[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return "jpegxl"
    if data[:4] == b"\xff\x4f\xff\x51":
        return "jpeg2000"
    return None


def sniff(data: bytes) -> str:
    """Which kind of file this is: misc, thumb-avif, a plain format (jpeg, webp, avif, hevc, jpegxl, jpeg2000),
    ``thumbnail:<format>`` (a plain file with the thumbnail trailer) or compressai (BitstreamError if none)."""
    if is_misc_file(data):
        return "misc"
    if data[:1] == b"\xca" and len(data) > 3:
        return "compressai"
    plain = _plain_kind(data)
    if plain == "avif" and read_size_box(data) is not None:
        return "thumb-avif"
    if plain is not None and has_trailer(data) and _plain_kind(data[:-TRAILER_BYTES]) == plain and plain != "jpeg":
        return f"thumbnail:{plain}"
    if plain == "jpeg" and has_trailer(data):  # a JPEG ends with its EOI marker, unless a trailer follows it
        return "thumbnail:jpeg"
    if plain is not None:
        return plain
    raise BitstreamError("not a file any aigi-scd codec writes (unknown leading bytes)", 0)


def codec_for_file(data: bytes, directory: Path | None = None, preset: CodecPreset | None = None) -> Codec:
    """The codec that wrote `data`, from the file alone, or from `preset` (a preset given by path, which the
    registry does not hold; it must be of the file's kind, and for MISC files carry the file's id).
    A malformed file elsewhere in the registry does not stop a decode that does not need it."""
    if preset is not None and preset.kind in ("python", "command", "external", "thumbnail"):
        return build_codec(preset)  # formats this package cannot recognise: the preset decides
    kind = sniff(data)
    if preset is not None:
        return _check_preset_fits(data, kind, preset)
    listing = preset_listing(directory)
    presets = [p for _, p, error in listing if error is None]
    broken = "; ".join(error for _, _, error in listing if error is not None)
    if kind == "misc":
        codec_id = parse(data).codec_id
        matches = [p for p in presets if p.kind == "misc" and p.id == codec_id]
        if len(matches) > 1:
            raise ConfigError(
                f"codec id {codec_id} is used by {matches[0].source} and {matches[1].source}; give one another id"
            )
        if matches:
            return build_codec(matches[0])
        hint = f" (a malformed preset could be it: {broken})" if broken else ""
        raise BitstreamError(
            f"written by codec id {codec_id}, which no preset in the codec registry has{hint}; if its preset is "
            "a file outside the registry, name it with --codec PATH",
            3,
        )
    if kind == "compressai":
        matches = [p for p in presets if p.kind == "compressai" and p.id == data[1]]
        if matches:
            return build_codec(matches[0])
        raise BitstreamError(f"written by codec id {data[1]}, which no compressai preset has; name it with --codec", 1)
    if kind.startswith("thumbnail:"):
        base = kind.split(":", 1)[1]
        for candidate in presets:
            if candidate.kind == "thumbnail" and _base_kind(candidate, presets) == base:
                return build_codec(candidate)
        raise BitstreamError(f"a {base} thumbnail file, but no thumbnail preset has a {base} base; use --codec", 0)
    for candidate in presets:
        if candidate.kind == kind and candidate.name == kind:
            return build_codec(candidate)
    return _BASELINES[kind](name=kind)


def _base_kind(preset: CodecPreset, presets: list[CodecPreset]) -> str | None:
    base = str(preset.options.get("base", ""))
    return next((p.kind for p in presets if p.name == base), None)


def _check_preset_fits(data: bytes, kind: str, preset: CodecPreset) -> Codec:
    """The codec of `preset`, if it wrote files like `data` (else the one bitstream error, naming both)."""
    if preset.kind != kind:
        raise BitstreamError(f"a {kind} file, but codec preset {preset.name!r} writes {preset.kind} files", 0)
    codec_id = parse(data).codec_id if kind == "misc" else None
    if codec_id is not None and codec_id != preset.id:
        raise BitstreamError(f"written by codec id {codec_id}, but preset {preset.name!r} has id {preset.id}", 3)
    return build_codec(preset)


def decode_file(
    data: bytes, directory: Path | None = None, preset: CodecPreset | None = None
) -> tuple[Image.Image, Any]:
    """Decode any file an aigi-scd codec wrote (with `preset` when given); returns the image and the codec."""
    codec = codec_for_file(data, directory, preset)
    return codec.decode(data), codec
