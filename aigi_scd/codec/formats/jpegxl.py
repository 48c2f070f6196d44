"""JPEG XL through imagecodecs (libjxl): a bare codestream (no ISOBMFF container), rate control over libjxl's
quality (0–100, mapped by libjxl onto its Butteraugli distance)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from aigi_scd.codec.errors import BitstreamError
from aigi_scd.codec.knob import KnobCodec


@dataclass
class JpegXlCodec(KnobCodec):
    quality: int = 50
    effort: int = 7  # libjxl's effort 1 (fastest) .. 9

    def encode_at(self, image: Image.Image, level: int) -> bytes:
        import imagecodecs

        return bytes(imagecodecs.jpegxl_encode(np.asarray(image), level=int(level), effort=self.effort))

    def decode(self, data: bytes) -> Image.Image:
        import imagecodecs

        try:
            return Image.fromarray(np.asarray(imagecodecs.jpegxl_decode(data))).convert("RGB")
        except Exception as exc:
            raise BitstreamError(f"JPEG XL data does not decode ({exc})") from None
