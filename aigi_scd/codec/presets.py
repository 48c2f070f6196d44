"""Codec presets: one YAML file per named codec in the ``codec/`` registry, and the codec they build.

``--codec NAME`` means the same in ``encode``, ``decode`` and ``compress``; a user adds a codec by
adding a file. MISC presets carry a numeric ``id`` that their files store, so ``decode`` needs no flag.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aigi_scd.config import load_registry_entry, load_registry_file, registry_files
from aigi_scd.errors import ConfigError

CodecKind = Literal[
    "misc",
    "thumb-avif",
    "avif",
    "webp",
    "jpeg",
    "hevc",
    "jpegxl",
    "jpeg2000",
    "thumbnail",  # any knob codec on a downscaled image (options.base names it)
    "python",  # a class given by `class: module:Class` (or registered under the aigi_scd.codecs entry points)
    "command",  # an external encoder and decoder program (aigi_scd.codec.plugins.command)
    "compressai",  # a compressai.zoo model
    "external",  # results made elsewhere: bitstreams and reconstructions in a folder
]
PLUGIN_KINDS = ("python", "command", "compressai", "external", "thumbnail")


# Allowed values of numeric settings, wherever a preset sets them (a section or a baseline's options), so a
# typo names its key at load instead of surfacing later as "target unreachable": key → (low, high, open low).
RANGES: dict[str, tuple[float, float | None, bool]] = {
    "speed": (0, 10, False),
    "search_speed": (0, 10, False),
    "finalists": (1, None, False),
    "min_fill": (0, 1, True),
    "default_scale": (1, None, False),
    "quality": (0, 100, False),
    "min_quality": (0, 100, False),
    "max_quality": (0, 100, False),
    "method": (0, 6, False),
    "max_new_tokens": (1, None, False),
    "grid": (1, 64, False),
    "threshold": (0, 1, False),
    "steps": (1, None, False),
    "strength": (0, 1, True),
    "region_strength": (0, 1, True),
    "guidance": (0, None, False),
}


def check_ranges(values: dict[str, Any]) -> None:
    """ValueError naming the first setting outside its range (see RANGES); ``scales`` must be factors >= 1."""
    for key, value in values.items():
        if key == "scales" and value is not None:
            if len(value) == 0:
                raise ValueError("scales: the list is empty; give downscale factors such as [2, 3, 4]")
            bad = [v for v in value if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 1)]
            if bad:
                raise ValueError(f"scales: {bad[0]!r} is not a downscale factor (a number >= 1)")
        if key not in RANGES or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        low, high, open_low = RANGES[key]
        above = value > low if open_low else value >= low
        if not (math.isfinite(value) and above and (high is None or value <= high)):
            bracket = "(" if open_low else "["
            span = f"{bracket}{low:g}, {high:g}]" if high is not None else f"{'>' if open_low else '>='} {low:g}"
            raise ValueError(f"{key} must be in {span}, got {value!r}")


class _Checked:
    def __post_init__(self) -> None:
        check_ranges(dataclasses.asdict(self))


@dataclass(frozen=True)
class SemanticConfig(_Checked):
    backend: Literal["none", "prompt", "vlm"] = "none"
    model: str | None = None
    max_new_tokens: int = 384
    max_pixels: int = 1280 * 28 * 28  # the VLM sees at most this many pixels (Qwen2.5-VL: ~1280 visual tokens)
    device: str = "auto"
    dtype: str = "auto"

    def __post_init__(self) -> None:
        if self.max_pixels < 28 * 28 * 4:
            raise ValueError(f"max_pixels must be at least {28 * 28 * 4} (four 28-pixel patches): {self.max_pixels}")


@dataclass(frozen=True)
class MapsConfig(_Checked):
    backend: Literal["none", "boxes", "clipseg"] = "none"
    model: str | None = None
    grid: int = 8
    threshold: float = 0.4
    device: str = "auto"


@dataclass(frozen=True)
class PixelConfig(_Checked):
    """The pixel layer: AV1 (bare, the container rebuilt on decode), or a CompressAI model (``backend:
    compressai``, ``model`` a compressai.zoo name, ``quality`` one rung or ``qualities`` a ladder to search)."""

    backend: Literal["av1", "compressai"] = "av1"
    model: str | None = None
    quality: int | None = None
    qualities: list[int] | None = None
    pretrained: bool = True
    checkpoint: str | None = None
    seed: int = 0
    speed: int = 4
    search_speed: int = 10
    scales: list[float] = field(default_factory=lambda: [2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 16.0])
    finalists: int = 2
    min_fill: float = 0.9


@dataclass(frozen=True)
class DecoderConfig(_Checked):
    """The decoder; for ``diffusion`` the passes of docs/misc-decoder.md: one region pass per object
    (`region_*`), then the whole-image pass guided by the description (`steps`, `strength`, `guidance`)."""

    backend: Literal["resize", "diffusion"] = "resize"
    model: str | None = None
    revision: str | None = None
    variant: str | None = None  # e.g. fp16: the repo's half-precision weight files (as the sdxl card loads them)
    steps: int = 40
    strength: float = 0.5
    guidance: float = 7.0
    region_steps: int = 5
    region_strength: float = 0.6
    region_guidance: float = 3.5
    negative_prompt: str = "blurry, low quality"
    feather: float = 0.25  # soft-mask ramp inside a region, in grid cells
    color_fix: bool = True  # keep the pixel layer's low frequencies (DiffBIR's colour correction)
    seed: int = 0
    device: str = "auto"
    dtype: str = "auto"

    def __post_init__(self) -> None:
        for key in ("steps", "region_steps"):
            if not 1 <= getattr(self, key) <= 1000:
                raise ValueError(f"{key} must be 1..1000, got {getattr(self, key)}")
        for key in ("strength", "region_strength"):
            if not 0.0 < getattr(self, key) <= 1.0:
                raise ValueError(f"{key} must be in (0, 1], got {getattr(self, key)}")
        if not 0.0 <= self.feather <= 4.0:
            raise ValueError(f"feather must be 0..4 grid cells, got {self.feather}")


@dataclass(frozen=True)
class CodecPreset:
    name: str
    kind: CodecKind
    description: str = ""
    id: int | None = None
    default_bpp: float | None = None
    levels: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    plugin: str | None = field(default=None, metadata={"key": "class"})  # kind python: "module:Class"
    fixed_bytes: int | None = None  # header/container bytes per file, where the codec cannot report them itself
    semantic: SemanticConfig | None = None
    maps: MapsConfig | None = None
    pixel: PixelConfig | None = None
    decoder: DecoderConfig | None = None
    source: str = field(default="", metadata={"internal": True}, compare=False)

    def __post_init__(self) -> None:
        if self.kind == "misc":
            if self.id is None or not 1 <= self.id <= 255:
                raise ValueError("a misc preset needs an integer id in 1..255 (stored in its files)")
            decoder = self.decoder or DecoderConfig()
            if decoder.backend == "resize":  # a file carries nothing its decoder does not read
                if self.semantic is not None and self.semantic.backend != "none":
                    raise ValueError(
                        f"semantic.backend {self.semantic.backend!r} writes text the resize decoder never reads; "
                        "use semantic: {backend: none} or a diffusion decoder"
                    )
                if self.maps is not None and self.maps.backend != "none":
                    raise ValueError(
                        f"maps.backend {self.maps.backend!r} writes region maps the resize decoder never reads; "
                        "use maps: {backend: none} or a diffusion decoder"
                    )
        elif any(x is not None for x in (self.semantic, self.maps, self.pixel, self.decoder)):
            raise ValueError(f"semantic/maps/pixel/decoder apply to kind 'misc' only, not {self.kind!r}")
        if self.kind in ("python", "compressai") and self.id is not None and not 1 <= self.id <= 255:
            raise ValueError("id must be in 1..255 (stored in each file)")
        if self.kind == "python" and not self.plugin:
            raise ValueError("a python codec needs `class: module:Class` (the class that encodes and decodes)")
        if self.plugin is not None and self.kind != "python":
            raise ValueError(f"class: applies to kind 'python' only, not {self.kind!r}")
        for level, value in self.levels.items():
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"level {level!r} must be a positive bpp, got {value!r}")
        if self.default_bpp is not None and (not math.isfinite(self.default_bpp) or self.default_bpp <= 0):
            raise ValueError(f"default_bpp must be a positive bpp, got {self.default_bpp!r}")

    @property
    def oracle(self) -> bool:
        """A MISC preset whose semantic layer is the sample's generation prompt: an oracle no real encoder has,
        so its rows are reported apart from those of a vision-language model."""
        return self.kind == "misc" and self.semantic is not None and self.semantic.backend == "prompt"

    def target(self, bpp: float | None = None, level: str | None = None) -> float | None:
        """The target bitrate from an explicit bpp or a named level; None means the codec's default."""
        if bpp is not None and level is not None:
            raise ConfigError("give --bpp or --level, not both")
        if level is not None:
            if level not in self.levels:
                raise ConfigError(
                    f"codec {self.name!r} has no level {level!r}; levels: {', '.join(self.levels) or 'none'}"
                )
            return float(self.levels[level])
        if bpp is not None and (not math.isfinite(bpp) or bpp <= 0):
            raise ConfigError(f"--bpp must be a positive, finite number of bits per pixel (such as 0.03), got {bpp}")
        return bpp if bpp is not None else self.default_bpp


def codec_preset_paths(directory: Path | None = None) -> dict[str, Path]:
    return registry_files("codec", directory)


def load_codec_preset_file(path: Path) -> CodecPreset:
    return load_registry_file(path, CodecPreset, "a codec preset")


def load_codec_preset(name_or_path: str, directory: Path | None = None) -> CodecPreset:
    """A codec preset by registry name (``misc-offline``), by path to a YAML file, or by the name an installed
    package registers under the ``aigi_scd.codecs`` entry points; a folder is a folder of results made elsewhere."""
    if Path(name_or_path).is_dir():
        from aigi_scd.codec.plugins.external import folder_preset

        return folder_preset(Path(name_or_path))
    try:
        return load_registry_entry("codec", name_or_path, load_codec_preset_file, "codec", directory)
    except ConfigError as exc:
        from aigi_scd.codec.plugins.entry_points import entry_point_presets

        found = {p.name: p for p in entry_point_presets()}
        if name_or_path in found and str(exc).startswith("unknown codec"):
            return found[name_or_path]
        if found and str(exc).startswith("unknown codec"):
            raise ConfigError(f"{exc}; installed plugins: {', '.join(found)}") from None
        raise


def preset_listing(directory: Path | None = None) -> list[tuple[str, CodecPreset | None, str | None]]:
    """(name, preset, None) for every registry file, or (name, None, its error) for a malformed one, so one
    broken file neither hides the others nor stops a listing or a decode that does not need it."""
    from aigi_scd.codec.plugins.entry_points import entry_point_presets

    listing: list[tuple[str, CodecPreset | None, str | None]] = []
    for name, path in codec_preset_paths(directory).items():
        try:
            listing.append((name, load_codec_preset_file(path), None))
        except ConfigError as exc:
            listing.append((name, None, str(exc)))
    names = {name for name, _, _ in listing}
    for preset in entry_point_presets():
        if preset.name in names:
            listing.append((preset.name, None, f"{preset.source}: shadowed by codec/{preset.name}.yaml; rename one"))
        else:
            listing.append((preset.name, preset, None))
    return listing


def all_presets(directory: Path | None = None, *, skip_invalid: bool = False) -> list[CodecPreset]:
    """Every preset in the registry (`skip_invalid`: leaving out malformed files, else the first raises);
    misc ids must be unique (they name the codec inside files)."""
    presets = []
    for _, preset, error in preset_listing(directory):
        if error is not None and not skip_invalid:
            raise ConfigError(error)
        if preset is not None:
            presets.append(preset)
    seen: dict[int, str] = {}
    for preset in presets:
        if preset.id is not None:
            if preset.id in seen:
                raise ConfigError(f"{preset.source}: id {preset.id} is already used by codec {seen[preset.id]!r}")
            seen[preset.id] = preset.name
    return presets
