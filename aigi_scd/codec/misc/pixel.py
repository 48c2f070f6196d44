"""MISC's pixel layer: a downscaled image as bare AV1 data (the AVIF container is rebuilt on decode), or — with
``backend: compressai``, as the paper's MISC used Cheng2020-attention — a CompressAI model's compress() output
(the container part of aigi_scd.codec.plugins.compressai_codec, after the format byte)."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from aigi_scd.codec.errors import BitstreamError
from aigi_scd.codec.formats.av1 import Av1Image, decode_avif, join_avif, split_avif
from aigi_scd.codec.image import MAX_SIDE
from aigi_scd.codec.misc.bitstream import Reader, write_varint
from aigi_scd.codec.ratecontrol import ThumbnailEncodes, ThumbnailSearch

FORMAT_AV1 = 1
FORMAT_COMPRESSAI = 2
DEFAULT_SCALES = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 16.0)


@dataclass(frozen=True)
class PixelOptions:
    """How the pixel layer searches for its encode (see aigi_scd.codec.ratecontrol)."""

    speed: int = 4
    search_speed: int = 10
    scales: tuple[float, ...] = field(default=DEFAULT_SCALES)
    finalists: int = 2
    min_fill: float = 0.9
    backend: str = "av1"  # or compressai
    model: str | None = None  # compressai: a compressai.zoo name
    qualities: tuple[int, ...] | None = None  # compressai: the ladder rungs searched (None: the model's whole ladder)
    pretrained: bool = True
    checkpoint: str | None = None
    seed: int = 0

    def model_spec(self):
        from aigi_scd.codec.plugins.compressai_codec import ModelSpec

        return ModelSpec(self.model, pretrained=self.pretrained, checkpoint=self.checkpoint, seed=self.seed)


def payload(data: bytes, options: PixelOptions) -> bytes:
    """Section payload of the search's file: AV1 repacked without its container, CompressAI's part as it is."""
    return pack(data) if options.backend == "av1" else data


def pack(avif: bytes) -> bytes:
    """Section payload: format byte, av1C (4 bytes), thumbnail width and height, AV1 data."""
    parts = split_avif(avif)
    return bytes([FORMAT_AV1]) + parts.av1c + write_varint(parts.width) + write_varint(parts.height) + parts.payload


def unpack(data: bytes, options: PixelOptions | None = None) -> Image.Image:
    """The thumbnail image from a pixel section payload."""
    reader = Reader(data)
    kind = reader.byte("pixel format")
    if kind == FORMAT_COMPRESSAI:
        if options is None or options.backend != "compressai":
            raise BitstreamError("pixel layer is CompressAI data, but this preset's pixel backend is not compressai")
        from aigi_scd.codec.plugins.compressai_codec import decompress_payload

        return decompress_payload(options.model_spec(), data, 1)
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
    (`encodes`: the image's AV1 thumbnail encodes, shared with other searches on it; the compressai backend
    keeps its own)."""
    if options.backend == "compressai":
        from aigi_scd.codec.plugins.compressai_codec import compress_payload

        spec = options.model_spec()
        return ThumbnailSearch(
            image,
            lambda data, size: len(data) + len(write_varint(len(data))),
            scales=options.scales,
            speed=0,
            search_speed=0,  # a network has no speed setting: one pass
            finalists=options.finalists,
            min_fill=options.min_fill,
            encoder=lambda thumb, quality, speed: bytes([FORMAT_COMPRESSAI]) + compress_payload(spec, thumb, quality),
            decoder=lambda data: unpack(data, options),
            qualities=options.qualities or spec.ladder(),
        )
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
