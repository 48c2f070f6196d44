"""Text–image alignment: CLIPScore of the prompt and the image (Hessel et al., 2021).

``CLIPScore = w · max(cos(image, text), 0)`` with w = 2.5 and the caption prefixed "A photo depicts",
so scores lie in [0, 2.5]. Two backends compute it: pyiqa's ``clipscore`` (OpenAI ViT-B/32, the
default) or any transformers CLIP model named in the preset (``model:`` a hub id or a local folder).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from huggingface_hub.errors import HFValidationError

from aigi_scd.errors import ConfigError
from aigi_scd.filters.base import Candidate, FilterResult
from aigi_scd.filters.iqa import check_score_threshold, score_by_shape, weights_unavailable
from aigi_scd.iqa import ScoreRange, pixels_to_tensor

W = 2.5
RANGE = ScoreRange(0.0, W, f"0, {W}")


@dataclass
class ClipScore:
    """Rejects images whose CLIPScore with their prompt is below `threshold` (null: score only)."""

    kind: ClassVar[str] = "clipscore"
    higher_is_better: ClassVar[bool] = True
    threshold: float | None = None
    model: str | None = None  # None: pyiqa's clipscore; else a transformers CLIP repo id or folder
    prefix: str = "A photo depicts"
    name: str = "clipscore"
    _backend: Any = field(default=None, init=False, repr=False, metadata={"internal": True})
    _device: str = field(default="cpu", init=False, repr=False, metadata={"internal": True})

    def __post_init__(self) -> None:
        if self.threshold is not None:
            check_score_threshold("clipscore", self.threshold, RANGE, False)

    def prepare(self, device: str) -> None:
        if self._backend is not None and self._device == device:
            return
        try:
            if self.model is None:
                import pyiqa

                self._backend = pyiqa.create_metric("clipscore", device=device, prefix=self.prefix)
            else:
                from transformers import CLIPModel, CLIPProcessor

                processor = CLIPProcessor.from_pretrained(self.model)
                model = CLIPModel.from_pretrained(self.model).to(device).eval()
                self._backend = (model, processor)
        except OSError as exc:
            what = "pyiqa metric 'clipscore'" if self.model is None else f"CLIP model {self.model!r}"
            raise weights_unavailable(what, exc) from None
        except HFValidationError:
            raise ConfigError(
                f"clipscore model: {self.model!r} is neither a local folder nor a hub id (owner/name)"
            ) from None
        self._device = device

    def _captions(self, candidates: list[Candidate]) -> list[str]:
        return [f"{self.prefix} {c.prompt.text}" if self.prefix else c.prompt.text for c in candidates]

    def scores(self, candidates: list[Candidate]) -> list[float]:
        if self._backend is None:
            self.prepare("cpu")

        def score_batch(positions: list[int], pixels: np.ndarray):
            batch = [candidates[i] for i in positions]
            if self.model is None:  # pyiqa adds the prefix itself
                texts = [c.prompt.text for c in batch]
                return self._backend(pixels_to_tensor(pixels, self._device), caption_list=texts)
            return self._transformers_scores(pixels, self._captions(batch))

        return score_by_shape(candidates, score_batch)

    def _transformers_scores(self, pixels: np.ndarray, captions: list[str]):
        import torch

        model, processor = self._backend
        inputs = processor(text=captions, images=list(pixels), return_tensors="pt", padding=True, truncation=True).to(
            self._device
        )
        image = model.get_image_features(pixel_values=inputs["pixel_values"])
        text = model.get_text_features(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        image = getattr(image, "pooler_output", image)
        text = getattr(text, "pooler_output", text)
        cos = torch.nn.functional.cosine_similarity(image, text, dim=-1)
        return W * cos.clamp(min=0)

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        missing = [c for c in candidates if c.prompt is None]
        if missing:
            raise ValueError(f"clipscore needs each image's prompt; {missing[0].key} has none")
        results = []
        for score in self.scores(candidates):
            if self.threshold is None or score >= self.threshold:
                results.append(FilterResult(self.name, True, score, ""))
            else:
                reason = f"off-prompt: CLIPScore {score:.3f} < threshold {self.threshold:g}"
                results.append(FilterResult(self.name, False, score, reason))
        return results
