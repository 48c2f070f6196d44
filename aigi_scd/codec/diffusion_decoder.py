"""The ``diffusion`` decoder: MISC's reconstruction with a diffusers pipeline.

The upscaled pixel layer is the starting image of an img2img pass guided by the overall
description; then each object with a region map gets an inpainting pass over its (softened) region,
guided by its name and detail — MISC's region passes. Without a pixel layer the picture is painted
from the description alone. Every pass uses a CPU generator seeded from the file, so decoding the
same file twice on the same machine gives the same pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from aigi_scd.codec.av1 import resize
from aigi_scd.codec.misc import DecoderSettings
from aigi_scd.codec.vlm import ALTERNATIVE

MAX_WORK_SIDE = 1024


def work_size(size: tuple[int, int], max_side: int = MAX_WORK_SIDE) -> tuple[int, int]:
    """The size diffusion runs at: the image's aspect, longest side ≤ max_side, sides multiples of 8 (≥ 64)."""
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return tuple(max(64, int(round(side * scale / 8)) * 8) for side in (width, height))


class DiffusionDecoder:
    generates = True

    def __init__(self, model: str, config: Any):
        self.repo = model
        self.config = config
        self._pipes = None

    def settings(self) -> DecoderSettings:
        return DecoderSettings(seed=self.config.seed, steps=self.config.steps)

    def _load(self):
        if self._pipes is None:
            from aigi_scd.weights.device import pick_device, pick_dtype
            from aigi_scd.weights.loading import load_model_or_explain, quiet_libraries

            quiet_libraries()
            from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting, AutoPipelineForText2Image

            device = pick_device(self.config.device)
            dtype = pick_dtype("float16", device, self.config.dtype)

            def load(location: str):
                return AutoPipelineForImage2Image.from_pretrained(location, dtype=dtype)

            img2img = load_model_or_explain(
                load,
                self.repo,
                "diffusion decoder of the misc codec",
                ALTERNATIVE.replace("semantic.model", "decoder.model"),
            )
            img2img = img2img.to(device)
            inpaint = AutoPipelineForInpainting.from_pipe(img2img)
            text2img = AutoPipelineForText2Image.from_pipe(img2img)
            for pipe in (img2img, inpaint, text2img):
                pipe.set_progress_bar_config(disable=True)
            self._pipes = (img2img, inpaint, text2img)
        return self._pipes

    def decode(self, *, size, semantics, maps, thumbnail, settings) -> Image.Image:
        import torch

        img2img, inpaint, text2img = self._load()
        settings = settings or self.settings()
        steps = max(1, settings.steps)
        width, height = work_size(size)
        prompt = semantics.description or "a photograph"
        common = {"num_inference_steps": steps, "guidance_scale": self.config.guidance}

        def generator(offset: int):
            return torch.Generator("cpu").manual_seed(settings.seed + offset)

        if thumbnail is not None:
            strength = max(self.config.strength, 1.0 / steps)
            image = img2img(
                prompt=prompt,
                image=resize(thumbnail, (width, height)),
                strength=strength,
                generator=generator(0),
                **common,
            ).images[0]
        else:
            image = text2img(prompt=prompt, width=width, height=height, generator=generator(0), **common).images[0]
        for index, (obj, grid) in enumerate(zip(semantics.objects, maps or [], strict=False)):
            if not np.any(grid):
                continue
            mask = Image.fromarray(np.asarray(grid, dtype=np.uint8) * 255).resize((width, height), Image.NEAREST)
            mask = mask.filter(ImageFilter.GaussianBlur(radius=max(width, height) / 64))
            region_prompt = f"{obj.name}, {obj.detail}" if obj.detail else obj.name
            strength = max(self.config.region_strength, 1.0 / steps)
            image = inpaint(
                prompt=region_prompt,
                image=image,
                mask_image=mask,
                width=width,
                height=height,
                strength=strength,
                generator=generator(index + 1),
                **common,
            ).images[0]
        return resize(image.convert("RGB"), size)
