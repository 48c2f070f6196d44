"""HEVC intra (the coding tools of BPG) in a HEIF file, through pillow-heif's bundled libheif and x265 encoder
(libde265 decodes): the field's traditional anchor at low rates. Rate control turns libheif's quality (0–100)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from aigi_scd.codec.errors import BitstreamError
from aigi_scd.codec.formats.containers import isobmff_fixed
from aigi_scd.codec.knob import KnobCodec


def _heif():
    import pillow_heif

    return pillow_heif


@dataclass
class HevcCodec(KnobCodec):
    """Full-resolution HEIF/HEVC, 4:2:0, the highest libheif quality that fits."""

    quality: int = 50
    chroma: int = 420  # 420, 422 or 444
    preset: str = "medium"  # x265's speed preset (ultrafast ... placebo)

    def encode_at(self, image: Image.Image, level: int) -> bytes:
        buffer = io.BytesIO()
        heif = _heif().from_pillow(image.convert("RGB"))
        heif.save(buffer, format="HEIF", quality=int(level), chroma=self.chroma, enc_params={"preset": self.preset})
        return buffer.getvalue()

    def decode(self, data: bytes) -> Image.Image:
        try:
            heif = _heif().open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
            return heif.to_pillow().convert("RGB")
        except Exception as exc:  # libheif reports damage through several exception types
            raise BitstreamError(f"HEIF data does not decode ({exc})") from None

    def fixed_bytes(self, data: bytes) -> int | None:
        return isobmff_fixed(data)
