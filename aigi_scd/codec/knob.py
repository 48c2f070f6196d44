"""Codecs with one quality knob: the shared search (:func:`highest_fitting_quality`) turns it to the highest
setting whose file fits the target, so a format, a plugin, a command-line program or a CompressAI model only has
to say how to encode at one setting.

``levels()`` lists the knob's settings in the order file size grows (a knob whose larger values make smaller
files, such as a quantiser, lists them reversed); ``encode_at(image, level) -> bytes``; ``decode(bytes)``.
The same three are all the thumbnail wrapper (:mod:`aigi_scd.codec.formats.thumbnail`) needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import Image

from aigi_scd.codec.base import CodecBase, Encoded, image_work
from aigi_scd.codec.errors import TargetUnreachableError
from aigi_scd.codec.image import bpp, budget_bytes, to_rgb8
from aigi_scd.codec.ratecontrol import highest_fitting_quality


@dataclass
class KnobCodec(CodecBase):
    """A codec with an integer quality knob in [min_quality, max_quality]; the highest that fits the target wins."""

    name: str
    quality: int = 75  # used when no target bitrate is given
    min_quality: int = 0
    max_quality: int = 100

    def levels(self) -> list[int]:
        """The knob's settings, smallest file first."""
        return list(range(self.min_quality, self.max_quality + 1))

    def encode_at(self, image: Image.Image, level: int) -> bytes:
        raise NotImplementedError

    def fixed_bytes(self, data: bytes) -> int | None:
        """The bytes of `data` that are header and container rather than coded picture (None: not known)."""
        return None

    def encode_report(self, image: Any, target_bpp: float | None = None, **side: Any) -> Encoded:
        image = to_rgb8(image)
        width, height = image.size
        levels = self.levels()
        if target_bpp is None:
            quality = self.quality if self.quality in levels else levels[len(levels) // 2]
            data = self.encode_at(image, quality)
            return Encoded(data, width, height, {"quality": quality, "fixed_bytes": self.fixed_bytes(data)})
        budget = budget_bytes(target_bpp, width, height)
        # files by knob setting, shared with the image's other targets: the search for each is the same, its probes
        # cached (image_work: only when the caller keeps an image cache, as compress does)
        files: dict[int, bytes] = image_work(side, self.name, dict)[0]
        before = len(files)

        def size_at(index: int) -> int:
            if index not in files:
                files[index] = self.encode_at(image, levels[index])
            return len(files[index])

        index = highest_fitting_quality(size_at, budget, 0, len(levels) - 1)
        if index is None:
            smallest = bpp(size_at(0), width, height)
            raise TargetUnreachableError(self.name, target_bpp, smallest, f"quality {levels[0]}")
        data = files[index]
        info = {"quality": levels[index], "fixed_bytes": self.fixed_bytes(data), "encodes": len(files) - before}
        return Encoded(data, width, height, info)
