"""Map-layer backends: where each salient object is, as a coarse grid.

``none``: no maps; ``boxes``: the boxes the VLM returned with its objects; ``clipseg``: a text-prompted
segmentation model from transformers (aigi_scd.codec.misc.clipseg).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from aigi_scd.codec.misc.mapcode import box_to_grid
from aigi_scd.codec.misc.semantics import Semantics


@dataclass
class NoRegions:
    def maps(self, image: Image.Image, semantics: Semantics) -> list[np.ndarray] | None:
        return None


@dataclass
class BoxRegions:
    grid: int = 8

    def maps(self, image: Image.Image, semantics: Semantics) -> list[np.ndarray] | None:
        if not semantics.objects:
            return None
        return [
            box_to_grid(o.box, self.grid) if o.box is not None else np.zeros((self.grid, self.grid), bool)
            for o in semantics.objects
        ]
