"""thumb-avif: the pixel layer alone, as a plain AVIF file of a thumbnail.

The file is a valid AVIF any viewer opens (showing the thumbnail); one extra 12-byte top-level box
``oisz`` (ignored by AVIF readers) holds the original size the decoder upscales to with Lanczos.
Scale and quality are chosen by rate control: the best PSNR after upscaling among encodes that fit.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from aigi_scd.codec.base import CodecBase, Encoded, image_work
from aigi_scd.codec.errors import BitstreamError, TargetUnreachableError
from aigi_scd.codec.formats.av1 import CONTAINER_BYTES, decode_avif, resize
from aigi_scd.codec.image import MAX_PIXELS, bpp, budget_bytes, to_rgb8
from aigi_scd.codec.misc.pixel import DEFAULT_SCALES
from aigi_scd.codec.ratecontrol import THUMBNAIL_ENCODES, ThumbnailEncodes, ThumbnailSearch

SIZE_BOX = b"oisz"
SIZE_BOX_BYTES = 12


def size_box(width: int, height: int) -> bytes:
    return struct.pack(">I4sHH", SIZE_BOX_BYTES, SIZE_BOX, width, height)


def read_size_box(data: bytes) -> tuple[int, int] | None:
    """The original size stored in a top-level ``oisz`` box, or None if the file has none."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size < 8:
            return None
        if kind == SIZE_BOX and size == SIZE_BOX_BYTES and offset + size <= len(data):
            return struct.unpack(">HH", data[offset + 8 : offset + 12])
        offset += size
    return None


@dataclass
class ThumbAvifCodec(CodecBase):
    name: str = "thumb-avif"
    speed: int = 4
    search_speed: int = 10
    scales: tuple[float, ...] = field(default=DEFAULT_SCALES)
    finalists: int = 2
    quality: int = 50  # with no target: this quality at the first scale
    default_scale: float = 4.0

    @property
    def shared_work(self) -> tuple[str, ...]:
        return (THUMBNAIL_ENCODES,)  # the AV1 thumbnails, with MISC's pixel layer

    def encode_report(self, image: Any, target_bpp: float | None = None, **side: Any) -> Encoded:
        image = to_rgb8(image)
        width, height = image.size  # to_rgb8 refuses sides above MAX_SIDE (65535), so the size box holds them
        if target_bpp is None:
            from aigi_scd.codec.formats.av1 import encode_avif

            size = (max(1, round(width / self.default_scale)), max(1, round(height / self.default_scale)))
            data = encode_avif(resize(image, size), self.quality, self.speed) + size_box(width, height)
            info = {"thumbnail": list(size), "quality": self.quality, "fixed_bytes": CONTAINER_BYTES + SIZE_BOX_BYTES}
            return Encoded(data, width, height, info)
        budget = budget_bytes(target_bpp, width, height)
        encodes = image_work(side, THUMBNAIL_ENCODES, lambda: ThumbnailEncodes(image))[0]
        search, shared = image_work(side, self.name, lambda: self.thumbnail_search(image, encodes))
        if shared:
            search.new_encode()  # another target of the same image: its encodes are reused, the choice is its own
        before = search.encodes
        choice = search.fit(budget)
        if choice is None:
            smallest = bpp(search.smallest_cost(), width, height)
            raise TargetUnreachableError(self.name, target_bpp, smallest, "even the smallest thumbnail is larger")
        data = choice.avif + size_box(width, height)
        return Encoded(
            data,
            width,
            height,
            {
                "thumbnail": list(choice.size),
                "quality": choice.quality,
                "psnr_estimate": choice.psnr,
                "encodes": search.encodes - before,  # AV1 encodes run for this file (an earlier target's are reused)
                "fixed_bytes": CONTAINER_BYTES + SIZE_BOX_BYTES,
            },
        )

    def thumbnail_search(self, image: Image.Image, encodes: ThumbnailEncodes | None = None) -> ThumbnailSearch:
        """The rate control for one image: the best scale and quality under a byte budget (`encodes`: the image's
        thumbnail encodes, shared with other searches on it)."""
        return ThumbnailSearch(
            image,
            lambda avif, size: len(avif) + SIZE_BOX_BYTES,
            scales=self.scales,
            speed=self.speed,
            search_speed=self.search_speed,
            finalists=self.finalists,
            encodes=encodes,
        )

    def decode(self, data: bytes) -> Image.Image:
        size = read_size_box(data)
        if size is None:
            raise BitstreamError("AVIF file has no oisz box with the original size (not a thumb-avif file)")
        width, height = size
        if width < 1 or height < 1 or width * height > MAX_PIXELS:
            raise BitstreamError(f"original size {width}x{height} is out of range")
        return resize(decode_avif(data), (width, height))
