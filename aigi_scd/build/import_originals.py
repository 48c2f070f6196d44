"""An imported original as the dataset stores it: byte for byte whenever that is safe, never re-encoded lossily.

PNG, JPEG and WebP files are stored exactly as they came (``png``, ``jpg``, ``webp`` members), so a lossy
original (JPEG, lossy WebP) is the benchmark's reference as its generator delivered it, not a second
generation of it. That holds when every reader sees the same 8-bit RGB pixels in the file: Pillow's plain
``convert("RGB")`` (what a user of ``datasets`` gets) and the codecs' conversion (:func:`to_rgb8`, what the
filters judge and ``compress`` encodes) agree. Where they do not — real transparency (composited over
white), 16-bit samples (scaled), several frames — and for every other format (BMP, TIFF, GIF, AVIF...), the
stored image is the lossless PNG of those pixels, and the sample says what was done (``converted``).
"""

from __future__ import annotations

import hashlib
import io
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image

from aigi_scd.build.import_rows import BadRow
from aigi_scd.codec.errors import ImageInputError
from aigi_scd.codec.image import to_rgb8
from aigi_scd.dataset.png import encode_png

KEPT_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}  # Pillow format → the sample's image member
LOSSY_FORMATS = {"JPEG", "MPO", "AVIF", "HEIF", "JPEG2000"}  # always lossy here; WebP and TIFF are looked into


@dataclass
class Original:
    """An original image: its hash and format, and the stored bytes and pixels that stand for it."""

    sha256: str
    format: str  # Pillow's name of the original's format: PNG, JPEG, WEBP, ...
    lossy: bool
    stored: bytes  # what the sample holds: the original itself, or the PNG of its pixels
    ext: str  # the sample's image member: png, jpg or webp
    converted: str | None  # how `stored` differs from the original (None: byte for byte)
    pixels: np.ndarray  # HxWx3 uint8, as the filters judge and compress encodes it


def webp_is_lossy(data: bytes) -> bool:
    """Whether a WebP file holds lossy (VP8) image data rather than lossless (VP8L): walks its RIFF chunks."""
    offset = 12
    while offset + 8 <= len(data):
        fourcc = data[offset : offset + 4]
        size = struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        if fourcc == b"VP8 ":
            return True
        if fourcc == b"VP8L":
            return False
        if fourcc == b"ANMF" and offset + 24 <= len(data):  # an animation frame: its image chunks are inside
            return webp_is_lossy(b"RIFF\0\0\0\0WEBP" + data[offset + 24 : offset + 8 + size])
        offset += 8 + size + (size & 1)
    return True  # no image chunk found: assume the worse


def is_lossy(image: Image.Image, data: bytes) -> bool:
    """Whether the file's format threw information away when it was written."""
    if image.format == "WEBP":
        return webp_is_lossy(data)
    if image.format == "TIFF":
        return str(image.info.get("compression", "")).lower() in ("jpeg", "tiff_jpeg", "webp")
    return image.format in LOSSY_FORMATS


def read_original(data: bytes, digest: str | None = None) -> Original:
    """The stored form of an original's bytes (`digest`: their sha256, when known); BadRow when they do not
    decode to an image we can use."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            frames = getattr(image, "n_frames", 1)
            rgb = to_rgb8(image)
            plain_rgb = image.convert("RGB")
            fmt = image.format or "unknown"
            lossy = is_lossy(image, data)
            mode = image.mode
    except ImageInputError as exc:
        raise BadRow(str(exc)) from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise BadRow(f"the image does not decode ({exc})") from None
    pixels = np.asarray(rgb)
    same = plain_rgb.size == rgb.size and np.array_equal(np.asarray(plain_rgb), pixels)
    digest = digest or hashlib.sha256(data).hexdigest()
    if fmt in KEPT_FORMATS and same and frames == 1:
        return Original(digest, fmt, lossy, data, KEPT_FORMATS[fmt], None, pixels)
    if frames > 1:
        reason = f"{fmt}: the first of {frames} frames, stored as PNG"
    elif not same and mode in ("RGBA", "LA", "PA", "P"):
        reason = f"{fmt} {mode}: transparency composited over white, stored as PNG"
    elif not same:
        reason = f"{fmt} {mode}: samples scaled to 8 bits, stored as PNG"
    else:
        reason = f"{fmt} stored as PNG (same pixels)"
    return Original(digest, fmt, lossy, encode_png(pixels), "png", reason, pixels)
