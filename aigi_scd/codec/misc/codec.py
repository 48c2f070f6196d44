"""The MISC codec: semantic text + region maps + a tiny pixel layer, rebuilt by a decoder.

Encoding spends the budget in order of what each layer buys per byte: the semantic text and the
region maps are small and go in first; the pixel layer takes every remaining byte (rate control in
aigi_scd.codec.misc.pixel). A file carries only what its decoder reads (the resize decoder reads pixels
alone), and text is first fitted to the decoder's text encoders. When even the smallest pixel layer
does not fit, the semantic layer is shortened step by step (object details, then objects, then the
description); a decoder that paints from text alone takes the longest text that fits by itself. Only
when no file fits is the target declared unreachable, with the smallest bpp the codec reaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from aigi_scd.codec.base import CodecBase, Encoded, image_work
from aigi_scd.codec.errors import BitstreamError, TargetUnreachableError
from aigi_scd.codec.image import bpp, budget_bytes, to_rgb8
from aigi_scd.codec.misc import pixel as pixel_layer
from aigi_scd.codec.misc.bitstream import MiscFile, Reader, parse, write_varint
from aigi_scd.codec.misc.mapcode import decode_maps, encode_maps
from aigi_scd.codec.misc.semantics import SemanticObject, Semantics
from aigi_scd.codec.misc.textcode import decode_text, encode_text
from aigi_scd.codec.ratecontrol import THUMBNAIL_ENCODES, ThumbnailEncodes


def shortened(semantics: Semantics):
    """The semantic layer, then ever shorter versions of it, ending with nothing."""
    yield semantics
    if any(o.detail for o in semantics.objects):
        yield Semantics(semantics.description, [SemanticObject(o.name, "", o.box) for o in semantics.objects])
    for keep in range(len(semantics.objects) - 1, -1, -1):
        yield Semantics(semantics.description, [SemanticObject(o.name, "", o.box) for o in semantics.objects[:keep]])
    words = semantics.description.split()
    for keep in (25, 12, 6):
        if len(words) > keep:
            yield Semantics(" ".join(words[:keep]), [])
    if not semantics.is_empty:
        yield Semantics()


@dataclass
class DecoderSettings:
    seed: int = 0
    steps: int = 0

    def to_bytes(self) -> bytes:
        return write_varint(self.seed) + write_varint(self.steps)

    @classmethod
    def from_bytes(cls, data: bytes) -> DecoderSettings:
        reader = Reader(data)
        settings = cls(reader.varint("decoder seed"), reader.varint("decoder steps", limit=1000))
        if reader.pos != reader.end:
            raise BitstreamError("decoder section has trailing bytes")
        return settings


@dataclass
class MiscCodec(CodecBase):
    name: str
    codec_id: int
    semantic: Any  # aigi_scd.codec.misc.describe backend: describe(image, prompt=...) -> Semantics
    regions: Any  # aigi_scd.codec.misc.regions backend: maps(image, semantics) -> list[array] | None
    decoder: Any  # aigi_scd.codec.misc.decoders backend
    pixel: pixel_layer.PixelOptions = field(default_factory=pixel_layer.PixelOptions)
    default_bpp: float = 0.03
    grid: int = 8

    def _sections(self, semantics: Semantics, maps: list | None) -> dict[str, bytes]:
        sections: dict[str, bytes] = {}
        if not semantics.is_empty:
            sections["semantic"] = encode_text(semantics.serialize())
        if maps is not None and semantics.objects:
            sections["maps"] = encode_maps(maps[: len(semantics.objects)], self.grid)
        settings = self.decoder.settings()
        if settings is not None:
            sections["decoder"] = settings.to_bytes()
        return sections

    def _size(self, width: int, height: int, sections: dict[str, bytes]) -> int:
        return len(MiscFile(self.codec_id, width, height, sections).to_bytes())

    @property
    def shared_work(self) -> tuple[str, ...]:
        return (THUMBNAIL_ENCODES,) if self.pixel.backend == "av1" else ()  # the AV1 thumbnails, with thumb-avif

    def pixel_search(self, image: Image.Image, encodes=None):
        """The pixel layer's search for this image (cached across the shortening steps of one encode; `encodes`: the
        image's thumbnail encodes, shared with other searches on it)."""
        return pixel_layer.search(image, self.pixel, encodes)

    def _analyse(self, image: Image.Image, side: dict[str, Any]) -> tuple:
        """The semantic layer (fitted to the decoder's text encoders, with the cuts made), its region maps and the
        pixel layer's search: everything an encode needs before the budget matters."""
        full = self.semantic.describe(image, prompt=side.get("prompt"))
        cuts = []
        if getattr(self.decoder, "reads_text", False) and not full.is_empty:
            full, cuts = self.decoder.fit_semantics(full)
        maps = self.regions.maps(image, full) if getattr(self.decoder, "reads_maps", False) else None
        encodes = None  # the AV1 thumbnails are shared with thumb-avif's search on the same image; compressai's are not
        if self.pixel.backend == "av1":
            encodes = image_work(side, THUMBNAIL_ENCODES, lambda: ThumbnailEncodes(image))[0]
        return full, cuts, maps, self.pixel_search(image, encodes)

    def encode_report(self, image: Any, target_bpp: float | None = None, **side: Any) -> Encoded:
        image = to_rgb8(image)
        width, height = image.size
        target = self.default_bpp if target_bpp is None else target_bpp
        budget = budget_bytes(target, width, height)
        # What does not depend on the target (the semantic layer, its maps, the pixel layer's encodes) is made once
        # for all targets of an image when the caller keeps an image cache.
        (full, cuts, maps, search), shared = image_work(side, self.name, lambda: self._analyse(image, side))
        if shared:
            search.new_encode()
        before = search.encodes
        text_only = None  # the longest semantic layer that fits alone: valid for a decoder that paints from text
        choice = None
        for semantics in shortened(full):
            sections = self._sections(semantics, maps)
            fixed = self._size(width, height, sections)
            if fixed > budget:
                continue
            if self.decoder.generates and text_only is None:
                text_only = (semantics, sections)
                if fixed >= self.pixel.min_fill * budget:
                    break  # the text alone fills the file: it is worth more than a sliver of pixels
            choice = search.fit(budget - fixed)
            if choice is not None:
                sections["pixel"] = pixel_layer.payload(choice.data, self.pixel)
                break
        if choice is None:
            if text_only is None:
                smallest = self._size(width, height, self._sections(Semantics(), None))
                if not self.decoder.generates:
                    smallest += search.smallest_cost()
                raise TargetUnreachableError(
                    self.name, target, bpp(smallest, width, height), "not even the smallest file fits"
                )
            semantics, sections = text_only
        data = MiscFile(self.codec_id, width, height, sections).to_bytes()
        assert len(data) <= budget, (len(data), budget)
        info = {
            "layers": {name: len(payload) for name, payload in sections.items()},
            "semantics": semantics.to_json(),
            "semantics_shortened": semantics.serialize() != full.serialize(),
            "prompt_fit": [cut.to_json() for cut in cuts],
            "maps": len(sections.get("maps", b"")) and len(semantics.objects),
            "thumbnail": list(choice.size) if choice else None,
            "quality": choice.quality if choice else None,
            "pixel_encodes": search.encodes - before,  # run for this file (an earlier target's are reused)
            "fixed_bytes": len(data) - sum(len(payload) for payload in sections.values()),
            "notes": full.notes,
        }
        return Encoded(data, width, height, info)

    def decode(self, data: bytes) -> Image.Image:
        parsed = parse(data)
        if parsed.codec_id != self.codec_id:
            raise BitstreamError(f"file was written by codec id {parsed.codec_id}, not {self.name} ({self.codec_id})")
        return self.decode_parsed(parsed)

    def decode_parsed(self, parsed: MiscFile) -> Image.Image:
        sections = parsed.sections
        semantics = Semantics.deserialize(decode_text(sections["semantic"])) if "semantic" in sections else Semantics()
        maps = decode_maps(sections["maps"]) if "maps" in sections else None
        thumb = pixel_layer.unpack(sections["pixel"], self.pixel) if "pixel" in sections else None
        settings = DecoderSettings.from_bytes(sections["decoder"]) if "decoder" in sections else None
        return self.decoder.decode(
            size=(parsed.width, parsed.height), semantics=semantics, maps=maps, thumbnail=thumb, settings=settings
        )


def carried_semantics(data: bytes) -> Semantics | None:
    """The semantic layer a file carries: None when it is not a MISC file, empty when it carries none."""
    from aigi_scd.codec.misc.bitstream import is_misc_file

    if not is_misc_file(data):
        return None
    sections = parse(data).sections
    return Semantics.deserialize(decode_text(sections["semantic"])) if "semantic" in sections else Semantics()
