"""The ``diffusion`` decoder: MISC's reconstruction with a diffusers image-to-image pipeline.

The steps follow the paper's decoder (docs/misc-decoder.md maps each one and says where it differs):

1. the pixel layer, upscaled to the working size, is the canvas (without one, the description is painted
   from scratch);
2. per object with a region map, a short img2img pass guided by its name and detail, composited back through
   the soft mask of its map — pixels outside the map are exactly those of the canvas (no VAE round trip);
3. one img2img pass over the whole image guided by the overall description;
4. the low frequencies of the pixel layer are put back (DiffBIR's colour fix), and the result is resized.

Prompts are fitted to the text encoders' token limit (aigi_scd.codec.misc.prompt_fit). Every pass uses a CPU
generator seeded from the seed stored in the file, so a file decodes to the same pixels on the same machine.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np
from PIL import Image

from aigi_scd.codec.formats.av1 import resize
from aigi_scd.codec.misc.codec import DecoderSettings
from aigi_scd.codec.misc.prompt_fit import PromptFit, fit_semantics, region_prompt
from aigi_scd.codec.misc.semantics import Semantics
from aigi_scd.codec.misc.vlm import ALTERNATIVE

MAX_WORK_SIDE = 1024
DECODER_ALTERNATIVE = ALTERNATIVE.replace("semantic.model", "decoder.model")


def work_size(size: tuple[int, int], max_side: int = MAX_WORK_SIDE) -> tuple[int, int]:
    """The size diffusion runs at: the image's aspect, longest side ≤ max_side, sides multiples of 8 (≥ 64)."""
    width, height = size
    scale = min(1.0, max_side / max(width, height))
    return tuple(max(64, int(round(side * scale / 8)) * 8) for side in (width, height))


def soft_mask(grid: np.ndarray, size: tuple[int, int], feather: float) -> np.ndarray:
    """A (height, width) float mask in [0, 1] from a coarse boolean grid: 1 deep inside the selected cells,
    ramping down to 0 over `feather` cells at the region's edge, and exactly 0 outside it."""
    from scipy.ndimage import distance_transform_edt

    width, height = size
    rows, cols = grid.shape
    hard = np.asarray(grid, dtype=bool)[
        (np.arange(height) * rows // height)[:, None], (np.arange(width) * cols // width)[None, :]
    ]
    ramp = feather * min(width / cols, height / rows)
    if ramp <= 0 or not hard.any():
        return hard.astype(np.float32)
    inside = distance_transform_edt(hard)  # distance to the nearest pixel outside the region
    return np.clip(inside / ramp, 0.0, 1.0).astype(np.float32)


def composite(region: Image.Image, canvas: Image.Image, mask: np.ndarray) -> Image.Image:
    """`region` where the mask is 1, `canvas` where it is 0, blended between; pixels with mask 0 are the
    canvas's own bytes."""
    top = np.asarray(region.convert("RGB"), dtype=np.float32)
    base = np.asarray(canvas.convert("RGB"), dtype=np.float32)
    weight = mask[:, :, None]
    blended = np.clip(np.rint(top * weight + base * (1.0 - weight)), 0, 255)
    out = np.where(weight > 0, blended, base).astype(np.uint8)
    return Image.fromarray(out)


def keep_low_frequencies(image: Image.Image, reference: Image.Image, sigma: float) -> Image.Image:
    """`image`'s detail on `reference`'s low frequencies (Gaussian low-pass at `sigma` pixels): the colour
    fix DiffBIR applies (with wavelets) so generated texture does not shift the pixel layer's colours."""
    from scipy.ndimage import gaussian_filter

    if sigma <= 0:
        return image
    img = np.asarray(image.convert("RGB"), dtype=np.float32)
    ref = np.asarray(reference.convert("RGB").resize(image.size, Image.Resampling.LANCZOS), dtype=np.float32)
    low = (sigma, sigma, 0)
    out = img - gaussian_filter(img, low, mode="reflect") + gaussian_filter(ref, low, mode="reflect")
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))


class DiffusionDecoder:
    generates = True  # paints a picture from text alone
    reads_text = True
    reads_maps = True

    def __init__(self, model: str, config: Any):
        self.repo = model
        self.config = config
        self._pipes = None
        self._tokenizers: list[Any] | None = None

    def settings(self) -> DecoderSettings:
        return DecoderSettings(seed=self.config.seed, steps=self.config.steps)

    def _load_kwargs(self, location: str) -> dict[str, Any]:
        from pathlib import Path

        kwargs: dict[str, Any] = {}
        if self.config.revision and not Path(location).is_dir():
            kwargs["revision"] = self.config.revision
        if self.config.variant:
            kwargs["variant"] = self.config.variant
        return kwargs

    def tokenizers(self) -> list[Any]:
        """The pipeline's tokenizers (both CLIP tokenizers for SDXL), loaded alone for the encoder's prompt fit."""
        if self._tokenizers is None:
            if self._pipes is not None:
                pipe = self._pipes[0]
                self._tokenizers = [t for t in (pipe.tokenizer, getattr(pipe, "tokenizer_2", None)) if t is not None]
            else:
                from aigi_scd.weights.loading import load_model_or_explain

                def load(location: str):
                    from transformers import AutoTokenizer

                    kwargs = {"revision": self._load_kwargs(location).get("revision")}
                    found = [AutoTokenizer.from_pretrained(location, subfolder="tokenizer", **kwargs)]
                    with contextlib.suppress(OSError, ValueError):  # SD 1.x/2.x have one text encoder
                        found.append(AutoTokenizer.from_pretrained(location, subfolder="tokenizer_2", **kwargs))
                    return found

                self._tokenizers = load_model_or_explain(
                    load, self.repo, "diffusion decoder of the misc codec (its tokenizers)", DECODER_ALTERNATIVE
                )
        return self._tokenizers

    def fit_semantics(self, semantics: Semantics) -> tuple[Semantics, list[PromptFit]]:
        """The semantic layer with every prompt within the text encoders' limit, and what was cut."""
        return fit_semantics(semantics, self.tokenizers())

    def _load(self):
        if self._pipes is None:
            from aigi_scd.weights.device import pick_device, pick_dtype
            from aigi_scd.weights.loading import load_model_or_explain, quiet_libraries

            quiet_libraries()
            from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image

            device = pick_device(self.config.device)
            dtype = pick_dtype("float16", device, self.config.dtype)

            def load(location: str):
                return AutoPipelineForImage2Image.from_pretrained(location, dtype=dtype, **self._load_kwargs(location))

            img2img = load_model_or_explain(load, self.repo, "diffusion decoder of the misc codec", DECODER_ALTERNATIVE)
            img2img = img2img.to(device)
            text2img = AutoPipelineForText2Image.from_pipe(img2img)
            for pipe in (img2img, text2img):
                pipe.set_progress_bar_config(disable=True)
            self._pipes = (img2img, text2img)
            self._tokenizers = None  # from now on, the pipeline's own
        return self._pipes

    def _generator(self, seed: int):
        import torch

        return torch.Generator("cpu").manual_seed(seed)

    def _img2img(self, image: Image.Image, prompt: str, steps: int, strength: float, guidance: float, seed: int):
        img2img, _ = self._load()
        strength = max(strength, 1.0 / steps)  # at least one denoising step
        return img2img(
            prompt=prompt,
            negative_prompt=self.config.negative_prompt or None,
            image=image,
            strength=strength,
            num_inference_steps=steps,
            guidance_scale=guidance,
            generator=self._generator(seed),
        ).images[0]

    def region_pass(self, canvas: Image.Image, grid: np.ndarray, prompt: str, seed: int) -> Image.Image:
        """One object's pass: img2img of the whole canvas guided by `prompt`, kept only inside the soft mask of
        `grid`; every pixel outside the region is the canvas's own."""
        mask = soft_mask(np.asarray(grid, dtype=bool), canvas.size, self.config.feather)
        if not mask.any():
            return canvas
        painted = self._img2img(
            canvas, prompt, self.config.region_steps, self.config.region_strength, self.config.region_guidance, seed
        )
        return composite(painted, canvas, mask)

    def decode(self, *, size, semantics, maps, thumbnail, settings) -> Image.Image:
        img2img, text2img = self._load()
        settings = settings or self.settings()
        steps = max(1, settings.steps)
        width, height = work_size(size)
        semantics, _ = self.fit_semantics(semantics)
        description = semantics.description or "a photograph"
        if thumbnail is not None:
            canvas = resize(thumbnail, (width, height))
        else:
            canvas = text2img(
                prompt=description,
                negative_prompt=self.config.negative_prompt or None,
                width=width,
                height=height,
                num_inference_steps=steps,
                guidance_scale=self.config.guidance,
                generator=self._generator(settings.seed),
            ).images[0]
        image = canvas
        for index, (obj, grid) in enumerate(zip(semantics.objects, maps or [], strict=False)):
            image = self.region_pass(image, grid, region_prompt(obj), settings.seed + index + 1)
        if thumbnail is not None:
            image = self._img2img(image, description, steps, self.config.strength, self.config.guidance, settings.seed)
            if self.config.color_fix:
                factor = max(width / thumbnail.size[0], height / thumbnail.size[1])
                image = keep_low_frequencies(image, canvas, sigma=max(1.0, factor / math.sqrt(2)))
        return resize(image.convert("RGB"), size)
