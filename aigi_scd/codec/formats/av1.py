"""AV1 still images through Pillow's AVIF support, with and without the AVIF container.

An AVIF file made by libavif spends about 275 bytes on ISOBMFF boxes (ftyp, meta with hdlr, pitm,
iloc, iinf, iprp) around the AV1 data. At 0.02–0.05 bpp on a Kodak image that is a fifth of the
budget, so MISC's pixel layer stores only the AV1 data, the 4-byte av1C configuration and the
thumbnail size, and rebuilds the container (byte for byte what libavif writes) before decoding.
The box layout is hand-written here because no Python library writes bare ISOBMFF boxes for AVIF.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image

from aigi_scd.codec.errors import BitstreamError

# The constant boxes libavif writes for an 8-bit, 3-channel, opaque still image.
_FTYP = struct.pack(">I4s4sI4s4s4s4s", 32, b"ftyp", b"avif", 0, b"avif", b"mif1", b"miaf", b"MA1B")
_HDLR = struct.pack(">I4sI", 33, b"hdlr", 0) + struct.pack(">I4s12sB", 0, b"pict", b"\0" * 12, 0)
_PITM = struct.pack(">I4sIH", 14, b"pitm", 0, 1)
_IINF = struct.pack(">I4sIH", 40, b"iinf", 0, 1) + struct.pack(
    ">I4sIHH4s6s", 26, b"infe", 0x02000000, 1, 0, b"av01", b"Color\0"
)
_PIXI = struct.pack(">I4sIB3B", 16, b"pixi", 0, 3, 8, 8, 8)
_COLR = struct.pack(">I4s4sHHHB", 19, b"colr", b"nclx", 1, 13, 6, 0x80)
_IPMA = struct.pack(">I4sIIHB4B", 23, b"ipma", 0, 1, 1, 4, 0x01, 0x02, 0x83, 0x04)
_META_SIZE = 12 + len(_HDLR) + len(_PITM) + 30 + len(_IINF) + 8 + 8 + 20 + len(_PIXI) + 12 + len(_COLR) + len(_IPMA)
CONTAINER_BYTES = len(_FTYP) + _META_SIZE + 8  # everything in an AVIF file that is not AV1 data


@dataclass(frozen=True)
class Av1Image:
    """The parts of an AVIF file that cannot be rebuilt from constants."""

    width: int
    height: int
    av1c: bytes  # the 4-byte AV1CodecConfigurationRecord (profile, level, tier, bit depth, subsampling)
    payload: bytes  # AV1 OBUs: sequence header and frame


def encode_avif(image: Image.Image, quality: int, speed: int, subsampling: str = "4:2:0") -> bytes:
    """A complete AVIF file from Pillow (libavif + aom)."""
    buffer = io.BytesIO()
    image.save(buffer, format="AVIF", quality=int(quality), speed=int(speed), subsampling=subsampling, max_threads=1)
    return buffer.getvalue()


def _boxes(data: bytes, start: int, end: int, header: int = 0):
    off = start + header
    while off + 8 <= end:
        size, kind = struct.unpack(">I4s", data[off : off + 8])
        if size < 8 or off + size > end:
            raise BitstreamError(f"malformed box {kind!r}", off)
        yield kind, off, size
        off += size


def split_avif(data: bytes) -> Av1Image:
    """Take apart an AVIF file written by libavif into what :func:`join_avif` needs."""
    width = height = None
    av1c = extent = None
    for kind, off, size in _boxes(data, 0, len(data)):
        if kind != b"meta":
            continue
        for inner, ioff, isize in _boxes(data, off, off + size, header=12):
            if inner == b"iloc":
                offset, length = struct.unpack(">II", data[ioff + isize - 8 : ioff + isize])
                extent = (offset, length)
            elif inner == b"iprp":
                for prop, poff, psize in _boxes(data, ioff, ioff + isize, header=8):
                    if prop != b"ipco":
                        continue
                    for item, qoff, qsize in _boxes(data, poff, poff + psize, header=8):
                        if item == b"ispe":
                            width, height = struct.unpack(">II", data[qoff + 12 : qoff + 20])
                        elif item == b"av1C":
                            av1c = data[qoff + 8 : qoff + qsize]
    if width is None or av1c is None or extent is None or len(av1c) != 4:
        raise BitstreamError("not a single-image AVIF file as libavif writes it")
    offset, length = extent
    return Av1Image(width, height, bytes(av1c), bytes(data[offset : offset + length]))


def join_avif(image: Av1Image) -> bytes:
    """The AVIF file libavif would have written around these parts."""
    payload_offset = len(_FTYP) + _META_SIZE + 8
    iloc = struct.pack(">I4sIBBHHHHII", 30, b"iloc", 0, 0x44, 0, 1, 1, 0, 1, payload_offset, len(image.payload))
    ispe = struct.pack(">I4sIII", 20, b"ispe", 0, image.width, image.height)
    av1c = struct.pack(">I4s", 12, b"av1C") + image.av1c
    ipco_body = ispe + _PIXI + av1c + _COLR
    ipco = struct.pack(">I4s", 8 + len(ipco_body), b"ipco") + ipco_body
    iprp = struct.pack(">I4s", 8 + len(ipco) + len(_IPMA), b"iprp") + ipco + _IPMA
    meta_body = _HDLR + _PITM + iloc + _IINF + iprp
    meta = struct.pack(">I4sI", 12 + len(meta_body), b"meta", 0) + meta_body
    mdat = struct.pack(">I4s", 8 + len(image.payload), b"mdat") + image.payload
    return _FTYP + meta + mdat


def decode_avif(data: bytes) -> Image.Image:
    """Decode an AVIF file to RGB; any decoder failure becomes a BitstreamError."""
    try:
        with Image.open(io.BytesIO(data), formats=["AVIF"]) as opened:
            opened.load()
            return opened.convert("RGB")
    except BitstreamError:
        raise
    except Exception as exc:  # libavif/dav1d report damage through several exception types
        raise BitstreamError(f"AV1 data does not decode ({exc})") from None


def resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Lanczos resampling, the down- and up-scaler of the thumbnail codecs."""
    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 RGB arrays over all channels (peak 255)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)
