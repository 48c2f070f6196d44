"""PNG, the dataset's lossless image format: one encoder for every image aigi-scd stores or writes.

The encoder was chosen by measurement (``benchmarks/bench_host.py --encoders``; 1024² images on one core):
libpng through imagecodecs at zlib level 1 with the RLE strategy and the Paeth filter on every row takes
about a tenth of Pillow's default (level 6, adaptive filters) for files 2-4% larger. Pillow's level 1 is
about 4x faster than its level 6 but 8% larger; Pillow with the RLE strategy about 5x faster and 1.5-3.5%
larger. Encoding is the largest host cost per generated image, so speed wins over a few percent of disk.
Equal pixels always give equal bytes (no timestamps, one fixed setting), whatever process encodes them.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

# What the stored PNGs were written with (recorded by build, so a change is visible in the samples' versions).
PNG_ENCODER = {"library": "imagecodecs (libpng)", "level": 1, "strategy": "rle", "filter": "paeth"}


def encode_png(image: np.ndarray | Image.Image) -> bytes:
    """Lossless PNG bytes of an HxWx3 uint8 array or a PIL image (stored as RGB); deterministic for equal
    pixels (no timestamps)."""
    import imagecodecs

    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGB"))
    pixels = np.ascontiguousarray(image, dtype=np.uint8)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"encode_png needs HxWx3 RGB pixels, got an array of shape {pixels.shape}")
    return bytes(
        imagecodecs.png_encode(
            pixels,
            level=1,
            strategy=imagecodecs.PNG.STRATEGY.RLE,
            filter=imagecodecs.PNG.FILTER.PAETH,
        )
    )


def decode_png(png: bytes) -> np.ndarray:
    """HxWx3 uint8 pixels of PNG bytes."""
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"))
