"""The Filter protocol: score a batch of candidate images, say which pass and why the others do not."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from aigi_scd.prompts.spec import PromptSpec


@dataclass
class Candidate:
    """An image on its way into a shard: the PNG that will be stored, its decoded pixels and its prompt."""

    key: str
    png: bytes | None
    pixels: np.ndarray | None  # HxWx3 uint8, None when the pipeline output was unusable
    prompt: PromptSpec | None = None
    problem: str | None = None  # set upstream when there are no usable pixels
    results: list[FilterResult] = field(default_factory=list)

    @property
    def rejected_by(self) -> FilterResult | None:
        return next((r for r in self.results if not r.passed), None)


@dataclass
class FilterResult:
    """One filter's verdict on one image: its score (if it has one), pass/fail, and the reason for a fail."""

    name: str
    passed: bool
    score: float | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "score": self.score, "passed": self.passed, "reason": self.reason}


class Filter(Protocol):
    name: str

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        """One result per candidate, in order."""
        ...


def run_chain(filters: list[Filter], candidates: list[Candidate]) -> None:
    """Run filters in order; a rejected candidate skips the filters after the one that rejected it.

    Results are appended to each candidate's ``results`` (the audit trail stored in its json).
    """
    alive = list(candidates)
    for filt in filters:
        if not alive:
            break
        results = filt(alive)
        if len(results) != len(alive):
            raise RuntimeError(f"filter {filt.name!r} returned {len(results)} results for {len(alive)} images")
        for candidate, result in zip(alive, results, strict=True):
            candidate.results.append(result)
        alive = [c for c in alive if c.rejected_by is None]


def encode_png(pixels: np.ndarray) -> bytes:
    """Lossless PNG bytes of an HxWx3 uint8 array; deterministic for equal pixels (no timestamps)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()
