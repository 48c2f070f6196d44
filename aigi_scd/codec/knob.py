"""Codecs with one quality knob: the shared search (:func:`highest_fitting_quality`) turns it to the highest
setting whose file fits the target, so a format, a plugin, a command-line program or a CompressAI model only has
to say how to encode at one setting.

``levels()`` lists the knob's settings in the order file size grows (a knob whose larger values make smaller
files, such as a quantiser, lists them reversed); ``encode_at(image, level) -> bytes``; ``decode(bytes)``.
The same three are all the thumbnail wrapper (:mod:`aigi_scd.codec.formats.thumbnail`) needs.

A codec whose encodes are costly and which knows which of its settings give the same file (AVIF: libavif maps 101
qualities onto 64 AV1 quantisers) says so in ``distinct_levels()``; the search then interpolates on log(size) over
those (:func:`interpolation_search`, about three encodes where a bisection of 101 settings takes seven) and, where
sizes grow with the setting, picks the file the bisection picks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from PIL import Image

from aigi_scd.codec.base import CodecBase, Encoded, image_work
from aigi_scd.codec.errors import TargetUnreachableError
from aigi_scd.codec.image import bpp, budget_bytes, to_rgb8
from aigi_scd.codec.ratecontrol import highest_fitting_quality, interpolation_search


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

    def distinct_levels(self) -> list[int] | None:
        """Indices into :meth:`levels`, one per distinct file, each the highest setting that gives it (the one a
        bisection of every setting ends on), smallest file first; None (the default): every setting may differ,
        and the search bisects them."""
        return None

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

        distinct = self.distinct_levels()
        if distinct is None:
            index = highest_fitting_quality(size_at, budget, 0, len(levels) - 1)
        else:
            index = _interpolated(size_at, budget, distinct, files)
        if index is None:
            smallest = bpp(size_at(0 if distinct is None else distinct[0]), width, height)
            raise TargetUnreachableError(self.name, target_bpp, smallest, f"quality {levels[0]}")
        data = files[index]
        info = {"quality": levels[index], "fixed_bytes": self.fixed_bytes(data), "encodes": len(files) - before}
        return Encoded(data, width, height, info)


def _interpolated(size_at, budget: int, distinct: list[int], files: dict[int, bytes]) -> int | None:
    """The highest of the `distinct` level indices whose file fits `budget` (None: not even the first), by an
    interpolation search that starts from the files already made for the image's other targets."""
    known = {p: len(files[i]) for p, i in enumerate(distinct) if i in files}
    if 0 not in known:
        known[0] = size_at(distinct[0])
    if known[0] > budget:
        return None
    fitting = max(p for p, size in known.items() if size <= budget)
    guess = fitting + max(1, math.floor(math.log(budget / max(known[fitting], 1)) / 0.05))
    found = interpolation_search(lambda p: size_at(distinct[p]), budget, len(distinct), guess, known)
    return None if found is None else distinct[found]
