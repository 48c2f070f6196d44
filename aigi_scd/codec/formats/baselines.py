"""Full-resolution baselines behind the codec interface: JPEG, WebP and AVIF through Pillow, with
rate control by quality search. They write plain image files any viewer opens."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

from aigi_scd.codec.base import CodecBase, Encoded, image_work
from aigi_scd.codec.errors import BitstreamError, TargetUnreachableError
from aigi_scd.codec.formats.av1 import decode_avif, encode_avif
from aigi_scd.codec.image import bpp, budget_bytes, to_rgb8
from aigi_scd.codec.ratecontrol import highest_fitting_quality


@dataclass
class QualityCodec(CodecBase):
    """A Pillow format with an integer quality knob; the highest quality that fits the target wins."""

    name: str
    quality: int = 75  # used when no target bitrate is given
    min_quality: int = 0
    max_quality: int = 100

    def _save(self, image: Image.Image, quality: int) -> bytes:
        raise NotImplementedError

    def encode_report(self, image: Any, target_bpp: float | None = None, **side: Any) -> Encoded:
        image = to_rgb8(image)
        width, height = image.size
        if target_bpp is None:
            data = self._save(image, self.quality)
            return Encoded(data, width, height, {"quality": self.quality})
        budget = budget_bytes(target_bpp, width, height)
        # files by quality, shared with the image's other targets: the search for each is the same, its probes cached
        sizes: dict[int, bytes] = image_work(side, self.name, dict)[0]

        def size_at(q: int) -> int:
            if q not in sizes:
                sizes[q] = self._save(image, q)
            return len(sizes[q])

        quality = highest_fitting_quality(size_at, budget, self.min_quality, self.max_quality)
        if quality is None:
            smallest = bpp(size_at(self.min_quality), width, height)
            raise TargetUnreachableError(self.name, target_bpp, smallest, f"quality {self.min_quality}")
        return Encoded(sizes[quality], width, height, {"quality": quality})

    def decode(self, data: bytes) -> Image.Image:
        return open_image(data, self.format_name)

    format_name = ""


def open_image(data: bytes, format_name: str) -> Image.Image:
    """Decode a plain image file with Pillow; any failure is a BitstreamError."""
    try:
        with Image.open(io.BytesIO(data), formats=[format_name]) as opened:
            opened.load()
            return opened.convert("RGB")
    except Exception as exc:
        raise BitstreamError(f"{format_name} data does not decode ({exc})") from None


@dataclass
class JpegCodec(QualityCodec):
    min_quality: int = 1
    max_quality: int = 95
    subsampling: str = "4:2:0"
    format_name = "JPEG"

    def _save(self, image: Image.Image, quality: int) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality, subsampling=self.subsampling, optimize=True)
        return buffer.getvalue()


@dataclass
class WebpCodec(QualityCodec):
    method: int = 6
    format_name = "WEBP"

    def _save(self, image: Image.Image, quality: int) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format="WEBP", quality=quality, method=self.method)
        return buffer.getvalue()


@dataclass
class AvifCodec(QualityCodec):
    speed: int = 4
    format_name = "AVIF"

    def _save(self, image: Image.Image, quality: int) -> bytes:
        return encode_avif(image, quality, self.speed)

    def decode(self, data: bytes) -> Image.Image:
        return decode_avif(data)
