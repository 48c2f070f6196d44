"""``kind: python``: a codec written as a Python class, named by a preset (``class: module:Class`` with
``options``) or by an installed package's entry point (:mod:`aigi_scd.codec.plugins.entry_points`).

The class is built with the preset's options as keyword arguments and needs ``decode(data: bytes) -> image``
and one of two ways to meet a target (docs/codecs.md):

- ``encode(image, target_bpp) -> bytes``: it does its own rate control (a file above the target is reported as
  unreachable, never kept);
- ``encode_at(image, quality) -> bytes`` and ``qualities`` (the knob's settings, smallest file first): the
  shared search turns the knob, and the codec also works as a thumbnail codec (``kind: thumbnail``).

An optional ``fixed_bytes`` (an int, or a method of the file) states its header and container bytes. Whatever
the class raises becomes one line naming the codec (a decode failure: the one BitstreamError).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from aigi_scd.codec.base import CodecBase, Encoded
from aigi_scd.codec.errors import BitstreamError, TargetUnreachableError
from aigi_scd.codec.image import bpp, budget_bytes, to_rgb8
from aigi_scd.codec.knob import KnobCodec
from aigi_scd.errors import AigiScdError, ConfigError


class PluginError(AigiScdError):
    """A plugin codec failed while encoding (its own exception, in one line)."""


def load_object(spec: str, where: str) -> Any:
    """The object ``module:attr`` (dots allowed in both), with one line for each way it is not there."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{where}: {spec!r} is not module:Class (for example my_codecs.toy:ToyCodec)")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise ConfigError(
                f"{where}: no module named {module_name!r}; install the package that provides it, or add its folder "
                "to PYTHONPATH"
            ) from None
        raise ConfigError(f"{where}: importing {module_name} failed: {exc}; install {exc.name!r}") from None
    except Exception as exc:  # the plugin's own import-time failure
        raise ConfigError(f"{where}: importing {module_name} failed ({type(exc).__name__}: {exc}); fix it") from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(module) if not n.startswith("_") and inspect.isclass(getattr(module, n))]
            raise ConfigError(
                f"{where}: module {module_name} has no {attr!r}; its classes: {', '.join(names) or 'none'}"
            )
        obj = getattr(obj, part)
    return obj


def _guard(name: str, what: str, call: Callable[..., Any], *args: Any) -> Any:
    try:
        return call(*args)
    except AigiScdError:
        raise
    except Exception as exc:
        raise PluginError(f"codec {name!r}: its {what} raised {type(exc).__name__}: {exc}") from None


def _as_bytes(name: str, data: Any) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise PluginError(f"codec {name!r}: encode returned {type(data).__name__}, not bytes; return the file's bytes")
    return bytes(data)


def _as_image(name: str, image: Any) -> Image.Image:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    if not isinstance(image, Image.Image):
        raise BitstreamError(f"codec {name!r}: decode returned {type(image).__name__}, not an image")
    return image.convert("RGB")


def _decode(name: str, plugin: Any, data: bytes) -> Image.Image:
    try:
        return _as_image(name, plugin.decode(data))
    except AigiScdError:
        raise
    except Exception as exc:  # decoding raises one documented type, whatever the plugin raised
        raise BitstreamError(f"codec {name!r} cannot decode it ({type(exc).__name__}: {exc})") from None


def _fixed(plugin: Any, data: bytes) -> int | None:
    fixed = getattr(plugin, "fixed_bytes", None)
    return fixed(data) if callable(fixed) else fixed


@dataclass
class KnobPlugin(KnobCodec):
    """A plugin with ``encode_at`` and ``qualities``, rate-controlled by the shared quality search."""

    plugin: Any = None
    declared_fixed: int | None = None

    def levels(self) -> list[int]:
        return list(self.plugin.qualities)

    def encode_at(self, image: Image.Image, level: int) -> bytes:
        return _as_bytes(self.name, _guard(self.name, "encode_at", self.plugin.encode_at, image, level))

    def decode(self, data: bytes) -> Image.Image:
        return _decode(self.name, self.plugin, data)

    def fixed_bytes(self, data: bytes) -> int | None:
        found = _fixed(self.plugin, data)
        return self.declared_fixed if found is None else found


@dataclass
class TargetPlugin(CodecBase):
    """A plugin whose ``encode(image, target_bpp)`` meets the target itself (checked: never exceeded)."""

    name: str
    plugin: Any
    declared_fixed: int | None = None

    def encode_report(self, image: Any, target_bpp: float | None = None, **side: Any) -> Encoded:
        image = to_rgb8(image)
        width, height = image.size
        data = _as_bytes(self.name, _guard(self.name, "encode", self.plugin.encode, image, target_bpp))
        if target_bpp is not None and len(data) > budget_bytes(target_bpp, width, height):
            raise TargetUnreachableError(self.name, target_bpp, bpp(len(data), width, height), "its file is larger")
        found = _fixed(self.plugin, data)
        return Encoded(data, width, height, {"fixed_bytes": self.declared_fixed if found is None else found})

    def decode(self, data: bytes) -> Image.Image:
        return _decode(self.name, self.plugin, data)


def build_python(preset) -> CodecBase:
    """The codec of a ``kind: python`` preset: the class, built with the preset's options, behind an adapter."""
    where = preset.source or preset.name
    cls = load_object(preset.plugin, f"{where}: class")
    try:
        plugin = cls(**preset.options) if callable(cls) else cls
    except TypeError as exc:
        raise ConfigError(f"{where}: options do not fit {preset.plugin} ({exc}); see its parameters") from None
    except Exception as exc:
        raise ConfigError(f"{where}: {preset.plugin}(**options) raised {type(exc).__name__}: {exc}") from None
    if not callable(getattr(plugin, "decode", None)):
        raise ConfigError(f"{where}: {preset.plugin} has no decode(data) method; a codec must decode its files")
    if callable(getattr(plugin, "encode_at", None)) and getattr(plugin, "qualities", None) is not None:
        levels = list(plugin.qualities)
        if not levels or any(not isinstance(q, int) for q in levels):
            raise ConfigError(
                f"{where}: {preset.plugin}.qualities must be a non-empty list of ints, smallest file first"
            )
        default = getattr(plugin, "default_quality", levels[len(levels) // 2])
        return KnobPlugin(
            name=preset.name, quality=default, plugin=plugin, declared_fixed=preset.fixed_bytes,
            min_quality=min(levels), max_quality=max(levels),
        )  # fmt: skip
    if callable(getattr(plugin, "encode", None)):
        return TargetPlugin(preset.name, plugin, preset.fixed_bytes)
    raise ConfigError(
        f"{where}: {preset.plugin} has neither encode(image, target_bpp) nor encode_at(image, quality) with "
        "qualities; give it one (docs/codecs.md)"
    )
