"""MISC's pixel layer: a downscaled image as bare AV1 data (the AVIF container is rebuilt on decode)."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from aigi_scd.codec.errors import BitstreamError
from aigi_scd.codec.formats.av1 import Av1Image, decode_avif, join_avif, split_avif
from aigi_scd.codec.image import MAX_SIDE
from aigi_scd.codec.misc.bitstream import Reader, write_varint
from aigi_scd.codec.ratecontrol import ThumbnailEncodes, ThumbnailSearch

FORMAT_AV1 = 1
DEFAULT_SCALES = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 16.0)


@dataclass(frozen=True)
class PixelOptions:
    """How the pixel layer searches for its encode (see aigi_scd.codec.ratecontrol)."""

    speed: int = 4
    search_speed: int = 10
    scales: tuple[float, ...] = field(default=DEFAULT_SCALES)
    finalists: int = 2
    min_fill: float = 0.9


def pack(avif: bytes) -> bytes:
    """Section payload: format byte, av1C (4 bytes), thumbnail width and height, AV1 data."""
    parts = split_avif(avif)
    return bytes([FORMAT_AV1]) + parts.av1c + write_varint(parts.width) + write_varint(parts.height) + parts.payload


def unpack(data: bytes) -> Image.Image:
    """The thumbnail image from a pixel section payload."""
    reader = Reader(data)
    kind = reader.byte("pixel format")
    if kind != FORMAT_AV1:
        raise BitstreamError(f"pixel layer format {kind} is unknown")
    av1c = reader.take(4, "av1C record")
    width = reader.varint("thumbnail width", limit=MAX_SIDE)
    height = reader.varint("thumbnail height", limit=MAX_SIDE)
    if width < 1 or height < 1:
        raise BitstreamError(f"thumbnail size {width}x{height} is empty")
    payload = reader.rest()
    thumb = decode_avif(join_avif(Av1Image(width, height, av1c, payload)))
    if thumb.size != (width, height):
        raise BitstreamError(f"AV1 data is {thumb.size[0]}x{thumb.size[1]}, header says {width}x{height}")
    return thumb


def section_cost(avif: bytes) -> int:
    """Bytes the pixel layer adds to a MISC file: its payload plus the varint length before it."""
    payload = len(pack(avif))
    return payload + len(write_varint(payload))


def search(image: Image.Image, options: PixelOptions, encodes: ThumbnailEncodes | None = None) -> ThumbnailSearch:
    """The pixel layer's thumbnail search for one image; ``.fit(budget)`` may be called for several budgets
    (`encodes`: the image's thumbnail encodes, shared with other searches on it)."""
    return ThumbnailSearch(
        image,
        lambda avif, size: section_cost(avif),
        scales=options.scales,
        speed=options.speed,
        search_speed=options.search_speed,
        finalists=options.finalists,
        min_fill=options.min_fill,
        encodes=encodes,
    )
