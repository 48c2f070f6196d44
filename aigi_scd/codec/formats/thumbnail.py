"""Any codec with a quality knob as a thumbnail codec: thumb-avif's idea generalised (downscale, encode, upscale
with Lanczos), so every traditional format has a variant that reaches 0.02 bpp.

The file is the base codec's file of the thumbnail followed by a 6-byte trailer: the original width and height
(16 bits each, big-endian) and the tag ``a7 5c``. Scale and quality come from the shared thumbnail search
(:class:`aigi_scd.codec.ratecontrol.ThumbnailSearch`, the one thumb-avif and MISC's pixel layer use): the best
PSNR after upscaling among the encodes that fit.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from aigi_scd.codec.base import CodecBase, Encoded, image_work
from aigi_scd.codec.errors import BitstreamError, TargetUnreachableError
from aigi_scd.codec.formats.av1 import resize
from aigi_scd.codec.image import MAX_PIXELS, bpp, budget_bytes, to_rgb8
from aigi_scd.codec.ratecontrol import ThumbnailSearch

TAG = b"\xa7\x5c"
TRAILER_BYTES = 6
DEFAULT_SCALES = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 16.0)


def trailer(width: int, height: int) -> bytes:
    return struct.pack(">HH", width, height) + TAG


def has_trailer(data: bytes) -> bool:
    return len(data) > TRAILER_BYTES and data[-2:] == TAG


@dataclass
class ThumbnailCodec(CodecBase):
    """`base` (a knob codec: ``levels()``, ``encode_at``, ``decode``) on a downscaled image."""

    name: str
    base: Any
    scales: tuple[float, ...] = field(default=DEFAULT_SCALES)
    finalists: int = 2
    min_fill: float = 0.9
    default_scale: float = 4.0  # with no target: the base's default quality at this scale

    def encode_report(self, image: Any, target_bpp: float | None = None, **side: Any) -> Encoded:
        image = to_rgb8(image)
        width, height = image.size  # to_rgb8 refuses sides above 65535, so the trailer holds them
        end = trailer(width, height)
        if target_bpp is None:
            size = (max(1, round(width / self.default_scale)), max(1, round(height / self.default_scale)))
            quality = self.base.quality
            data = self.base.encode_at(resize(image, size), quality) + end
            return Encoded(data, width, height, {"thumbnail": list(size), "quality": quality, **self._fixed(data)})
        search, shared = image_work(side, self.name, lambda: self.thumbnail_search(image))
        if shared:
            search.new_encode()  # another target of the same image: its encodes are reused, the choice is its own
        before = search.encodes
        choice = search.fit(budget_bytes(target_bpp, width, height))
        if choice is None:
            smallest = bpp(search.smallest_cost(), width, height)
            raise TargetUnreachableError(self.name, target_bpp, smallest, "even the smallest thumbnail is larger")
        data = choice.data + end
        info = {"thumbnail": list(choice.size), "quality": choice.quality, "psnr_estimate": choice.psnr}
        return Encoded(data, width, height, {**info, "encodes": search.encodes - before, **self._fixed(data)})

    def _fixed(self, data: bytes) -> dict[str, int | None]:
        inner = getattr(self.base, "fixed_bytes", lambda _: None)(data[:-TRAILER_BYTES])
        return {"fixed_bytes": None if inner is None else inner + TRAILER_BYTES}

    def thumbnail_search(self, image: Image.Image) -> ThumbnailSearch:
        """The rate control for one image: the best scale and base quality under a byte budget."""
        return ThumbnailSearch(
            image,
            lambda data, size: len(data) + TRAILER_BYTES,
            scales=self.scales,
            speed=0,
            search_speed=0,  # one speed: the base's own settings
            finalists=self.finalists,
            min_fill=self.min_fill,
            encoder=lambda thumb, quality, speed: self.base.encode_at(thumb, quality),
            decoder=self.base.decode,
            qualities=self.base.levels(),
        )

    def decode(self, data: bytes) -> Image.Image:
        if not has_trailer(data):
            raise BitstreamError(f"no thumbnail trailer (tag {TAG.hex()}) at the end: not a {self.name} file")
        width, height = struct.unpack(">HH", data[-TRAILER_BYTES:-2])
        if width < 1 or height < 1 or width * height > MAX_PIXELS:
            raise BitstreamError(f"original size {width}x{height} is out of range", len(data) - TRAILER_BYTES)
        return resize(self.base.decode(data[:-TRAILER_BYTES]), (width, height))
