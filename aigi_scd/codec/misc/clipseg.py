"""The ``clipseg`` map backend: text-prompted segmentation (CLIPSeg in transformers) of each object name."""

from __future__ import annotations

import numpy as np
from PIL import Image

from aigi_scd.codec.misc.mapcode import mask_to_grid
from aigi_scd.codec.misc.semantics import Semantics
from aigi_scd.codec.misc.vlm import ALTERNATIVE
from aigi_scd.weights.loading import LazyTransformersModel


class ClipSegRegions(LazyTransformersModel):
    model_class = "CLIPSegForImageSegmentation"
    role = "segmentation model of the misc codec"
    alternative = ALTERNATIVE.replace("semantic.model", "maps.model")

    def masks(self, image: Image.Image, names: list[str]) -> np.ndarray:
        """Per-name probability masks, shape (len(names), h, w), values in [0, 1]."""
        import torch

        processor, model, device = self.loaded()
        inputs = processor(
            text=names, images=[image] * len(names), padding=True, truncation=True, return_tensors="pt"
        ).to(device)
        with torch.inference_mode():
            logits = model(**inputs).logits
        logits = logits.reshape(len(names), *logits.shape[-2:])
        return torch.sigmoid(logits).float().cpu().numpy()

    def maps(self, image: Image.Image, semantics: Semantics) -> list[np.ndarray] | None:
        if not semantics.objects:
            return None
        masks = self.masks(image, [o.name for o in semantics.objects])
        return [mask_to_grid(m, self.config.grid, self.config.threshold) for m in masks]
