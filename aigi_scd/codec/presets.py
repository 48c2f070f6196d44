"""Codec presets: one YAML file per named codec in the ``codec/`` registry, and the codec they build.

``--codec NAME`` means the same in ``encode``, ``decode`` and ``compress``; a user adds a codec by
adding a file. MISC presets carry a numeric ``id`` that their files store, so ``decode`` needs no flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aigi_scd.config import load_registry_entry, load_registry_file, registry_files
from aigi_scd.errors import ConfigError

CodecKind = Literal["misc", "thumb-avif", "avif", "webp", "jpeg"]


@dataclass(frozen=True)
class SemanticConfig:
    backend: Literal["none", "prompt", "vlm"] = "none"
    model: str | None = None
    max_new_tokens: int = 384
    device: str = "auto"
    dtype: str = "auto"


@dataclass(frozen=True)
class MapsConfig:
    backend: Literal["none", "boxes", "clipseg"] = "none"
    model: str | None = None
    grid: int = 8
    threshold: float = 0.4
    device: str = "auto"


@dataclass(frozen=True)
class PixelConfig:
    speed: int = 4
    search_speed: int = 8
    scales: list[float] = field(default_factory=lambda: [2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 16.0])
    finalists: int = 2
    min_fill: float = 0.9


@dataclass(frozen=True)
class DecoderConfig:
    backend: Literal["resize", "diffusion"] = "resize"
    model: str | None = None
    steps: int = 30
    strength: float = 0.5
    region_strength: float = 0.6
    guidance: float = 5.0
    seed: int = 0
    device: str = "auto"
    dtype: str = "auto"


@dataclass(frozen=True)
class CodecPreset:
    name: str
    kind: CodecKind
    description: str = ""
    id: int | None = None
    default_bpp: float | None = None
    levels: dict[str, float] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    semantic: SemanticConfig | None = None
    maps: MapsConfig | None = None
    pixel: PixelConfig | None = None
    decoder: DecoderConfig | None = None
    source: str = field(default="", metadata={"internal": True}, compare=False)

    def __post_init__(self) -> None:
        if self.kind == "misc":
            if self.id is None or not 1 <= self.id <= 255:
                raise ValueError("a misc preset needs an integer id in 1..255 (stored in its files)")
        elif any(x is not None for x in (self.semantic, self.maps, self.pixel, self.decoder)):
            raise ValueError(f"semantic/maps/pixel/decoder apply to kind 'misc' only, not {self.kind!r}")
        for level, value in self.levels.items():
            if not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"level {level!r} must be a positive bpp, got {value!r}")

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
        if bpp is not None and bpp <= 0:
            raise ConfigError(f"--bpp must be positive, got {bpp}")
        return bpp if bpp is not None else self.default_bpp


def codec_preset_paths(directory: Path | None = None) -> dict[str, Path]:
    return registry_files("codec", directory)


def load_codec_preset_file(path: Path) -> CodecPreset:
    return load_registry_file(path, CodecPreset, "a codec preset")


def load_codec_preset(name_or_path: str, directory: Path | None = None) -> CodecPreset:
    """A codec preset by registry name (``misc-offline``) or by path to a YAML file."""
    return load_registry_entry("codec", name_or_path, load_codec_preset_file, "codec", directory)


def all_presets(directory: Path | None = None) -> list[CodecPreset]:
    """Every preset in the registry; misc ids must be unique (they name the codec inside files)."""
    presets = [load_codec_preset_file(p) for p in codec_preset_paths(directory).values()]
    seen: dict[int, str] = {}
    for preset in presets:
        if preset.id is not None:
            if preset.id in seen:
                raise ConfigError(f"{preset.source}: id {preset.id} is already used by codec {seen[preset.id]!r}")
            seen[preset.id] = preset.name
    return presets
