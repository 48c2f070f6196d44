"""JPEG 2000 through imagecodecs (OpenJPEG): a bare J2K codestream (no JP2 boxes). OpenJPEG's fixed-quality mode
takes a target PSNR; the knob is that PSNR in quarter decibels (80 = 20 dB), since whole decibels jump the file
size by ~50% at these rates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from aigi_scd.codec.errors import BitstreamError
from aigi_scd.codec.formats.containers import j2k_fixed
from aigi_scd.codec.knob import KnobCodec


@dataclass
class Jpeg2000Codec(KnobCodec):
    quality: int = 120  # 30 dB
    min_quality: int = 40  # 10 dB
    max_quality: int = 240  # 60 dB

    def encode_at(self, image: Image.Image, level: int) -> bytes:
        import imagecodecs

        codestream = imagecodecs.JPEG2K.CODEC.J2K
        return bytes(imagecodecs.jpeg2k_encode(np.asarray(image), level=level / 4.0, codecformat=codestream))

    def decode(self, data: bytes) -> Image.Image:
        import imagecodecs

        try:
            return Image.fromarray(np.asarray(imagecodecs.jpeg2k_decode(data))).convert("RGB")
        except Exception as exc:
            raise BitstreamError(f"JPEG 2000 data does not decode ({exc})") from None

    def fixed_bytes(self, data: bytes) -> int | None:
        return j2k_fixed(data)
