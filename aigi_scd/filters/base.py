"""The Filter protocol: score a batch of candidate images, say which pass and why the others do not.

Two kinds of step make up a chain (see :mod:`aigi_scd.filters.chain`):

- a **Filter** judges each image on its own, a batch at a time, on the build's device;
- a **ShardStep** judges an image against others (near-duplicates, best-of-N): it sees every
  surviving candidate of a shard at once, in plan order, so its verdicts do not depend on the
  batch size and a resumed build makes the same ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from aigi_scd.prompts.spec import PromptSpec

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, as PIL's "L" conversion


@dataclass
class Candidate:
    """An image on its way into a shard: the PNG that will be stored, its decoded pixels and its prompt."""

    key: str
    png: bytes | None
    pixels: np.ndarray | None  # HxWx3 uint8, None when the pipeline output was unusable
    prompt: PromptSpec | None = None
    problem: str | None = None  # set upstream when there are no usable pixels
    results: list[FilterResult] = field(default_factory=list)
    features: dict[str, Any] = field(default_factory=dict)  # what shard steps need once pixels are gone
    image_ext: str = "png"  # the stored image's field: an imported original keeps its format (jpg, webp)
    _grey: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def grey(self) -> np.ndarray:
        """Grey levels 0-255 (float32, ITU-R BT.601 as PIL's "L") of the pixels, computed once: most
        technical filters look at them, and recomputing them per filter was a fifth of their time."""
        if self._grey is None:
            if self.pixels is None:
                raise ValueError(f"{self.key}: no pixels to take grey levels of")
            self._grey = self.pixels.astype(np.float32) @ LUMA
        return self._grey

    def drop_pixels(self) -> None:
        """Forget the decoded pixels (and their grey levels) once only the PNG is needed: bounded memory."""
        self.pixels = self._grey = None

    @property
    def rejected_by(self) -> FilterResult | None:
        return next((r for r in self.results if not r.passed), None)

    def score(self, name: str) -> float | None:
        """The score the filter called `name` gave this image (None if it did not run or has none)."""
        return next((r.score for r in self.results if r.name == name), None)


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
    """Judges images one by one (batched). Optional: ``prepare(device)`` loads what it needs (weights)
    before any image is generated; ``higher_is_better`` says how its score ranks images."""

    name: str

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        """One result per candidate, in order."""
        ...


class ShardStep(Protocol):
    """Judges the surviving candidates of a whole shard together."""

    name: str

    def features(self, candidates: list[Candidate]) -> None:
        """Store in ``candidate.features`` what :meth:`decide` needs (called per batch, pixels still there)."""
        ...

    def decide(self, candidates: list[Candidate]) -> list[FilterResult]:
        """One result per candidate (the shard's survivors, in plan order)."""
        ...

    def remember(self, kept: list[Candidate]) -> None:
        """Learn the shard's finally kept images (state carried to later shards)."""
        ...

    def reset(self) -> None:
        """Forget all state: a new build or re-filtering starts."""
        ...


def run_chain(filters: list[Filter], candidates: list[Candidate]) -> None:
    """Run filters in order; a rejected candidate skips the filters after the one that rejected it.

    Results are appended to each candidate's ``results`` (the audit trail stored in its json).
    """
    alive = [c for c in candidates if c.rejected_by is None]
    for filt in filters:
        if not alive:
            break
        results = filt(alive)
        if len(results) != len(alive):
            raise RuntimeError(f"filter {filt.name!r} returned {len(results)} results for {len(alive)} images")
        for candidate, result in zip(alive, results, strict=True):
            candidate.results.append(result)
        alive = [c for c in alive if c.rejected_by is None]


def settings(step: Any) -> dict[str, Any]:
    """A step's settings as a preset would write them: its ``type`` and every field read from YAML."""
    values = {
        f.name: getattr(step, f.name) for f in dataclasses.fields(step) if f.init and not f.metadata.get("internal")
    }
    return {"type": getattr(step, "kind", type(step).__name__), **values}
