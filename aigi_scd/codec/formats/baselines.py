"""Full-resolution baselines behind the codec interface: JPEG, WebP and AVIF through Pillow, with rate control by
the shared quality search (:class:`aigi_scd.codec.knob.KnobCodec`). They write plain image files any viewer
opens."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from aigi_scd.codec.errors import BitstreamError
from aigi_scd.codec.formats.av1 import decode_avif, encode_avif
from aigi_scd.codec.formats.containers import isobmff_fixed, jpeg_fixed, webp_fixed
from aigi_scd.codec.knob import KnobCodec
from aigi_scd.codec.ratecontrol import AV1_LEVELS


@dataclass
class QualityCodec(KnobCodec):
    """A Pillow format with an integer quality knob; the highest quality that fits the target wins."""

    format_name = ""

    def _save(self, image: Image.Image, quality: int) -> bytes:
        raise NotImplementedError

    def encode_at(self, image: Image.Image, level: int) -> bytes:
        return self._save(image, level)

    def decode(self, data: bytes) -> Image.Image:
        return open_image(data, self.format_name)


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

    def fixed_bytes(self, data: bytes) -> int | None:
        return jpeg_fixed(data)


@dataclass
class WebpCodec(QualityCodec):
    method: int = 6
    format_name = "WEBP"

    def _save(self, image: Image.Image, quality: int) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format="WEBP", quality=quality, method=self.method)
        return buffer.getvalue()

    def fixed_bytes(self, data: bytes) -> int | None:
        return webp_fixed(data)


@dataclass
class AvifCodec(QualityCodec):
    speed: int = 4
    format_name = "AVIF"

    def _save(self, image: Image.Image, quality: int) -> bytes:
        return encode_avif(image, quality, self.speed)

    def distinct_levels(self) -> list[int]:
        """The highest quality of each run of qualities that give the same AV1 file (:data:`AV1_LEVELS`): a
        full-resolution AVIF encode costs about half a second at 768×512, so the search interpolates over them."""
        return distinct_tops(AV1_LEVELS, self.min_quality, self.max_quality)

    def decode(self, data: bytes) -> Image.Image:
        return decode_avif(data)

    def fixed_bytes(self, data: bytes) -> int | None:
        return isobmff_fixed(data)


def distinct_tops(firsts: tuple[int, ...], lowest: int, highest: int) -> list[int]:
    """For settings `lowest`..`highest` (their indices counted from `lowest`), the index of the highest setting of
    each run that gives one file, a run beginning at each of `firsts` (ascending)."""
    tops = [nxt - 1 for nxt in firsts[1:]] + [highest]  # the last run reaches the highest setting
    runs = zip(firsts, tops, strict=True)
    return [min(top, highest) - lowest for first, top in runs if top >= lowest and first <= highest]
