"""Weight-free checks of an image's texture: how much of the frame has any detail (a near-blank frame — an empty
page, a grey fog with a few marks — passes `not_blank`, whose grey std sees its few marks and its gradient), and how
much visible noise it carries (a noisy photograph keeps neighbouring pixels correlated, so `noise` passes it).

Both were calibrated on real AI-generated images and on the Kodak photographs (``filters/README.md``): PIQE, the
weight-free quality score the offline preset used to reject by, could not tell dense, sharp illustrations (up to 67)
from a photograph under strong noise (65), so these two measures took over its job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from aigi_scd.filters.base import Candidate, FilterResult
from aigi_scd.filters.technical import SHARPNESS_SIDE, grey_at_most, judge_each

BLOCK = 8  # pixels (at ≤512 px) of the square blocks whose detail `detail` looks at
MAD_TO_SIGMA = 0.6745  # median absolute deviation of a Gaussian / its σ


@dataclass
class Detail:
    """Rejects near-blank frames: too little of the image has any detail. The image is scaled down to at most
    512 pixels on its longer side and cut into 8×8 blocks; a block has detail when its grey levels vary
    (standard deviation ≥ `block_std`).

    Score: the fraction of blocks with detail, 0-1.
    """

    kind: ClassVar[str] = "detail"
    higher_is_better: ClassVar[bool] = True
    min_fraction: float = 0.15
    block_std: float = 2.0
    name: str = "detail"

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_fraction <= 1.0:
            raise ValueError(f"min_fraction is a fraction of the image, 0-1; got {self.min_fraction}")
        if self.block_std < 0:
            raise ValueError(f"block_std is a grey-level standard deviation, 0-255; got {self.block_std}")

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        def measure(c):
            fraction = detail_fraction(grey_at_most(c.grey, SHARPNESS_SIDE), self.block_std)
            blank = fraction < self.min_fraction
            return fraction, (
                f"near-blank: {100 * fraction:.0f}% of the frame has detail (8×8 blocks with grey std ≥ "
                f"{self.block_std:g}; at least {100 * self.min_fraction:.0f}% wanted)"
                if blank
                else ""
            )

        return judge_each(self, candidates, measure)


def detail_fraction(grey: np.ndarray, block_std: float) -> float:
    """The fraction of the BLOCK×BLOCK blocks of `grey` whose standard deviation reaches `block_std` (an image
    smaller than a block is one block)."""
    h, w = grey.shape
    size_h, size_w = min(h, BLOCK), min(w, BLOCK)
    bh, bw = h // size_h, w // size_w
    blocks = grey[: bh * size_h, : bw * size_w].reshape(bh, size_h, bw, size_w).astype(np.float64)
    return float(np.mean(blocks.std(axis=(1, 3)) >= block_std))


@dataclass
class NoiseLevel:
    """Rejects visibly noisy images by their estimated noise σ: the median absolute value of the finest diagonal
    Haar wavelet details of the grey levels over 0.6745 (Donoho and Johnstone's estimator; the median keeps
    edges and texture from counting as noise), at the image's own resolution.

    Score: the estimated σ, in grey levels.
    """

    kind: ClassVar[str] = "noise_level"
    higher_is_better: ClassVar[bool] = False
    max_sigma: float = 15.0
    name: str = "noise_level"

    def __post_init__(self) -> None:
        if self.max_sigma <= 0:
            raise ValueError(f"max_sigma is a noise standard deviation in grey levels, above 0; got {self.max_sigma}")

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        def measure(c):
            sigma = noise_sigma(c.grey)
            noisy = sigma > self.max_sigma
            return sigma, (f"noisy: estimated noise σ {sigma:.1f} > {self.max_sigma:g} grey levels" if noisy else "")

        return judge_each(self, candidates, measure)


def noise_sigma(grey: np.ndarray) -> float:
    """Donoho–Johnstone noise σ of `grey`: median |HH| / 0.6745 over its 2×2 blocks (0 for a smaller image)."""
    h, w = grey.shape
    g = grey[: h // 2 * 2, : w // 2 * 2]
    if g.size == 0:
        return 0.0
    diagonal = (g[0::2, 0::2] - g[0::2, 1::2] - g[1::2, 0::2] + g[1::2, 1::2]) / 2
    return float(np.median(np.abs(diagonal)) / MAD_TO_SIGMA)
