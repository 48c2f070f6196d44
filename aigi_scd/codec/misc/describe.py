"""Semantic-layer backends: where the description and the salient objects come from.

``prompt``: the generation prompt stored with an AI-generated sample (an oracle, reported apart);
``none``: no semantic layer; ``vlm``: a local vision-language model (aigi_scd.codec.misc.vlm).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PIL import Image

from aigi_scd.codec.misc.semantics import Semantics, from_prompt


@dataclass
class NoSemantics:
    def describe(self, image: Image.Image, prompt: Any = None) -> Semantics:
        return Semantics()


@dataclass
class PromptSemantics:
    """Uses the sample's PromptSpec (json dict, PromptSpec or plain text); images without one get none."""

    def describe(self, image: Image.Image, prompt: Any = None) -> Semantics:
        if prompt is None:
            return Semantics()
        if isinstance(prompt, str):
            prompt = {"text": prompt}
        elif hasattr(prompt, "to_json"):
            prompt = prompt.to_json()
        return from_prompt(prompt)
