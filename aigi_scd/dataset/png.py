"""PNG, the dataset's lossless image format: one encoder for every image aigi-scd stores or writes."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

PNG_COMPRESS_LEVEL = 6


def encode_png(image: np.ndarray | Image.Image) -> bytes:
    """Lossless PNG bytes of an HxWx3 uint8 array or a PIL image (stored as RGB); deterministic for equal
    pixels (no timestamps)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image, mode="RGB")
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def decode_png(png: bytes) -> np.ndarray:
    """HxWx3 uint8 pixels of PNG bytes."""
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"))
