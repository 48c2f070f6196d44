"""pyiqa's own metadata about a metric — what it compares, which way is better, its score range — read in
one place for the filters (no-reference metrics as thresholds) and the benchmark (every kind), and the one
conversion of pixels into the tensors pyiqa reads."""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

MetricKind = Literal["fr", "nr", "set"]  # full-reference, no-reference, set-level (FID, KID)
SET_LEVEL_TYPES = ("FID", "InceptionScore")  # pyiqa metric types that score a set of images, not one image


@dataclass(frozen=True)
class ScoreRange:
    """pyiqa's ``score_range`` string, e.g. ``"0, 1"`` or ``"~0, ~100"`` (``~``: approximate; alone: open)."""

    low: float | None
    high: float | None
    text: str

    def contains(self, value: float) -> bool:
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


def parse_score_range(text: str | None) -> ScoreRange | None:
    if not text:
        return None
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2:
        return None
    bounds = []
    for part in parts:
        number = part.lstrip("~").strip()
        if not number:
            bounds.append(None)
            continue
        if not re.fullmatch(r"-?\d+(\.\d+)?", number):
            return None
        bounds.append(float(number))
    return ScoreRange(bounds[0], bounds[1], str(text))


@dataclass(frozen=True)
class MetricInfo:
    """What a metric measures and how to read its scores."""

    name: str
    kind: MetricKind
    lower_better: bool
    score_range: ScoreRange | None = None

    @property
    def arrow(self) -> str:
        return "↓" if self.lower_better else "↑"


@functools.cache
def pyiqa_configs() -> dict[str, Any]:
    """pyiqa's registry of metrics and their metadata (no weights are loaded).

    Read from its module file without importing the pyiqa package, whose ``__init__`` imports torch and every
    architecture (about 700 MB in a process that only needs the table: `compress`'s main process when its workers
    score); the table module itself imports nothing but ``collections``. Where pyiqa is already imported, its own
    module is used."""
    module = sys.modules.get("pyiqa.default_model_configs")
    if module is None:
        package = importlib.util.find_spec("pyiqa")  # locates the package without running its __init__
        if package is None or not package.submodule_search_locations:
            from pyiqa.default_model_configs import DEFAULT_CONFIGS  # not found: pyiqa's own ImportError

            return DEFAULT_CONFIGS
        path = Path(next(iter(package.submodule_search_locations))) / "default_model_configs.py"
        spec = importlib.util.spec_from_file_location("_aigi_scd_pyiqa_configs", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module.DEFAULT_CONFIGS


def pyiqa_metric_info(name: str) -> MetricInfo | None:
    """The metadata pyiqa declares for `name`, or None when pyiqa has no such metric."""
    config = pyiqa_configs().get(name)
    if config is None:
        return None
    if config.get("metric_opts", {}).get("type") in SET_LEVEL_TYPES:
        kind: MetricKind = "set"
    else:
        kind = "fr" if config.get("metric_mode") == "FR" else "nr"
    return MetricInfo(name, kind, bool(config.get("lower_better", False)), parse_score_range(config.get("score_range")))


def pixels_to_tensor(pixels: np.ndarray, device: str):
    """NxHxWx3 uint8 → Nx3xHxW float32 in [0, 1] on `device`, as pyiqa reads image files."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(pixels)).to(device).permute(0, 3, 1, 2).float().div_(255.0)
