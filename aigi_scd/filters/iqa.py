"""Any no-reference pyiqa metric as a filter: a name and a threshold.

Direction (``lower_better``) and score range come from pyiqa's own metadata, so a preset says only
``metric: topiq_nr, threshold: 0.45`` and the filter knows that higher is better and that 0.45 lies in
the metric's range. Metric weights are fetched by pyiqa on first use (``prepare``); where that is
impossible the error names the metric and the weight-free ``offline`` preset.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from aigi_scd.errors import ModelUnavailableError
from aigi_scd.filters.base import Candidate, FilterResult
from aigi_scd.iqa import MetricInfo, ScoreRange, pixels_to_tensor, pyiqa_metric_info


def nr_metric_info(name: str) -> MetricInfo:
    """pyiqa's metadata for a no-reference metric a filter can threshold; ValueError naming close matches for
    unknown names and saying why a full-reference or set-level metric cannot filter."""
    import pyiqa

    known = pyiqa.list_models()
    info = pyiqa_metric_info(name)
    if info is None:
        close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
        close += [m for m in known if m.startswith(name) and m not in close][: 5 - len(close)]
        hint = f"close matches: {', '.join(close)}" if close else "see pyiqa.list_models() for the names"
        raise ValueError(f"unknown pyiqa metric {name!r} ({hint})")
    if name == "clipscore":
        raise ValueError("clipscore needs the prompt: use `type: clipscore` instead of `type: iqa`")
    if info.kind == "set":
        raise ValueError(f"pyiqa metric {name!r} scores a set of images, not one image; it cannot filter")
    if info.kind != "nr":
        nr = ", ".join(m for m in ("topiq_nr", "musiq", "piqe", "entropy") if m in known)
        raise ValueError(
            f"pyiqa metric {name!r} is full-reference (it compares with a reference image); "
            f"a filter needs a no-reference metric such as {nr}"
        )
    return info


def check_score_threshold(metric: str, threshold: float, score_range: ScoreRange | None, lower_better: bool) -> None:
    if score_range is not None and not score_range.contains(threshold):
        direction = "lower" if lower_better else "higher"
        raise ValueError(
            f"threshold {threshold:g} is outside the score range of {metric} ({score_range.text}, from pyiqa's "
            f"metadata; {direction} is better)"
        )


def weights_unavailable(what: str, exc: BaseException) -> ModelUnavailableError:
    cause = (str(exc).strip().splitlines() or [""])[0].split(". ")[0]
    cause = cause if len(cause) <= 120 else cause[:119] + "…"
    return ModelUnavailableError(
        f"{what} could not load its weights ({type(exc).__name__}: {cause}); they download on first use, so "
        "connect this machine once, or filter with the weight-free preset: --filters offline "
        "(aigi-scd filter: --preset offline)"
    )


def score_by_shape(candidates: list[Candidate], score_batch: Callable[[list[int], np.ndarray], Any]) -> list[float]:
    """One score per candidate: candidates grouped by image shape (pyiqa metrics take one NxCxHxW tensor) and
    each group passed to ``score_batch(positions, NxHxWx3 uint8 pixels)``, which returns N scores (a tensor)."""
    import torch

    groups: dict[tuple[int, ...], list[int]] = {}
    for i, c in enumerate(candidates):
        groups.setdefault(c.pixels.shape, []).append(i)
    out = [0.0] * len(candidates)
    with torch.inference_mode():
        for positions in groups.values():
            values = score_batch(positions, np.stack([candidates[i].pixels for i in positions]))
            for i, v in zip(positions, values.reshape(-1).float().cpu().tolist(), strict=True):
                out[i] = float(v)
    return out


@dataclass
class IqaFilter:
    """A pyiqa no-reference metric; rejects images on the wrong side of `threshold` (null: score only)."""

    kind: ClassVar[str] = "iqa"
    # Modules that making one imports (its metric's score range comes from pyiqa's registry): a pool of
    # host workers imports them once, in its fork server, instead of once per worker and per pool.
    imports: ClassVar[tuple[str, ...]] = ("pyiqa",)
    metric: str
    threshold: float | None = None
    name: str = ""
    lower_better: bool = field(default=False, init=False, metadata={"internal": True})
    score_range: ScoreRange | None = field(default=None, init=False, metadata={"internal": True})
    _model: Any = field(default=None, init=False, repr=False, metadata={"internal": True})
    _device: str = field(default="cpu", init=False, repr=False, metadata={"internal": True})

    def __post_init__(self) -> None:
        info = nr_metric_info(self.metric)
        self.lower_better, self.score_range = info.lower_better, info.score_range
        self.name = self.name or self.metric
        if self.threshold is not None:
            check_score_threshold(self.metric, self.threshold, self.score_range, self.lower_better)

    @property
    def higher_is_better(self) -> bool:
        return not self.lower_better

    def prepare(self, device: str) -> None:
        """Create the pyiqa metric on `device` (downloading its weights on first use)."""
        if self._model is not None and self._device == device:
            return
        import pyiqa

        try:
            self._model = pyiqa.create_metric(self.metric, device=device)
        except OSError as exc:  # URLError, huggingface_hub's offline errors, missing files
            raise weights_unavailable(f"pyiqa metric {self.metric!r}", exc) from None
        self._device = device

    def passes(self, score: float) -> bool:
        if self.threshold is None:
            return True
        return score <= self.threshold if self.lower_better else score >= self.threshold

    def scores(self, candidates: list[Candidate]) -> list[float]:
        if self._model is None:
            self.prepare("cpu")
        return score_by_shape(candidates, lambda _, pixels: self._model(pixels_to_tensor(pixels, self._device)))

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        results = []
        for score in self.scores(candidates):
            if not np.isfinite(score):
                results.append(FilterResult(self.name, False, None, f"{self.metric} score is not finite ({score})"))
            elif self.passes(score):
                results.append(FilterResult(self.name, True, score, ""))
            else:
                op = ">" if self.lower_better else "<"
                better = "lower" if self.lower_better else "higher"
                reason = f"{self.metric} {score:.4g} {op} threshold {self.threshold:g} ({better} is better)"
                results.append(FilterResult(self.name, False, score, reason))
        return results
