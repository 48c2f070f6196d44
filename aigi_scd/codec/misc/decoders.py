"""Decoders: rebuild the image from what the file holds.

``resize``: the pixel layer upscaled with Lanczos (no weights); ``diffusion``: a diffusers pipeline
guided by the description and refined region by region (aigi_scd.codec.misc.diffusion_decoder).
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image

from aigi_scd.codec.formats.av1 import resize


@dataclass
class ResizeDecoder:
    generates = False  # cannot paint without pixels
    reads_text = False  # so MISC files for it carry no semantic layer
    reads_maps = False

    def settings(self):
        return None

    def decode(self, *, size, semantics, maps, thumbnail, settings) -> Image.Image:
        if thumbnail is None:
            return Image.new("RGB", size, (128, 128, 128))
        return resize(thumbnail, size)
