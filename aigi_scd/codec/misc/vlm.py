"""The ``vlm`` semantic backend: a local vision-language model writes the description and the objects.

Any transformers image-text-to-text model with a chat template works; Qwen2.5-VL is the default
because it also returns object boxes (in pixels of its resized input), which the ``boxes`` map
backend turns into region maps. Decoding is greedy, so the same image gives the same text.
"""

from __future__ import annotations

import math
from typing import Any

from PIL import Image

from aigi_scd.codec.misc.semantics import Semantics
from aigi_scd.codec.misc.vlm_answer import parse_answer
from aigi_scd.weights.loading import LazyTransformersModel

# MISC's instruction to GPT-4V (three salient objects, each a name of at most three words and a detail of at
# most ten; then an overall description of about 50 words), asked as JSON with Qwen2.5-VL's boxes added.
INSTRUCTION = (
    "You are the encoder of an image codec: a painter will recreate this image from your words alone. "
    "First name the three most salient objects in the image; for each give a name of at most 3 words, a detail "
    "of at most 10 words (colour, texture, shape, pose) and its bounding box in pixel coordinates. Then describe "
    "the whole image in about 50 words: scene, layout, colours, lighting, style. Reply with JSON only, in exactly "
    'this form: {"objects": [{"name": "...", "detail": "...", "bbox_2d": [x1, y1, x2, y2]}, '
    '{"name": "...", "detail": "...", "bbox_2d": [x1, y1, x2, y2]}, '
    '{"name": "...", "detail": "...", "bbox_2d": [x1, y1, x2, y2]}], "description": "..."}'
)
ALTERNATIVE = (
    "Use the codec preset misc-offline instead (it needs no weights), connect to the hub, or set semantic.model in "
    "the codec preset "
    "to a local folder."
)


def cap_pixels(image: Image.Image, max_pixels: int) -> Image.Image:
    """The image at most `max_pixels` large, aspect kept (a VLM's visual tokens grow with the pixels: a 4K
    photo would be ~10k tokens for Qwen2.5-VL, which reads a downscaled copy as well)."""
    width, height = image.size
    if width * height <= max_pixels:
        return image
    scale = math.sqrt(max_pixels / (width * height))
    size = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


class VlmSemantics(LazyTransformersModel):
    model_class = "AutoModelForImageTextToText"
    role = "vision-language model of the misc codec"
    alternative = ALTERNATIVE

    def answer(self, image: Image.Image) -> tuple[str, tuple[int, int] | None]:
        """The model's raw answer and the (width, height) of the image as the model saw it."""
        import torch

        processor, model, device = self.loaded()
        image = cap_pixels(image, self.config.max_pixels)
        messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": INSTRUCTION}]}]
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = processor(text=[text], images=[image], return_tensors="pt").to(device)
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=self.config.max_new_tokens, do_sample=False)
        answer = processor.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)[0]
        frame = None
        grid = inputs.get("image_grid_thw")
        patch = getattr(getattr(processor, "image_processor", None), "patch_size", None)
        if grid is not None and patch:
            _, rows, cols = (int(v) for v in grid[0])
            frame = (cols * patch, rows * patch)
        return answer, frame

    def describe(self, image: Image.Image, prompt: Any = None) -> Semantics:
        answer, frame = self.answer(image)
        semantics = parse_answer(answer, frame)
        semantics.notes.insert(0, f"vlm answer: {answer[:500]}")
        if frame is not None:
            semantics.notes.insert(1, f"vlm input: {frame[0]}x{frame[1]} pixels")
        return semantics
