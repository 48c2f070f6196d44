"""Technical checks that need no model: the image decodes, is big enough, is not blank, black,
clipped, pure noise or blurred, and (optionally) has colour.

Thresholds are in the units of each score (recorded in every sample's json), chosen so that natural
photographs (Kodak crops) pass with a wide margin; see ``filters/offline.yaml`` for the values in use.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from aigi_scd.filters.base import Candidate, FilterResult

DARK, BRIGHT = 2.0, 253.0  # luma at or beyond these is clipped to black / white
SHARPNESS_SIDE = 512  # sharpness is measured at most at this size, so one threshold fits every resolution


def judge_each(filt, candidates: list[Candidate], measure) -> list[FilterResult]:
    """Apply `measure(candidate) -> (score, reason or "")` to every candidate (candidate.grey is computed once
    for all the filters that look at it)."""
    results = []
    for c in candidates:
        score, reason = measure(c)
        results.append(FilterResult(filt.name, not reason, float(score), reason))
    return results


def grey_at_most(grey: np.ndarray, side: int) -> np.ndarray:
    """Grey levels scaled down (box filter, never up) to at most `side` pixels on the longer side: one threshold
    then fits every resolution."""
    from PIL import Image

    h, w = grey.shape
    if max(h, w) <= side:
        return grey
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(grey, mode="F").resize(size, Image.Resampling.BOX))


def _sum_of_products(a: np.ndarray, b: np.ndarray) -> float:
    """Σ a·b of two float32 arrays, accumulated in float64 without a float64 copy of either."""
    return float(np.einsum("ij,ij->", a, b, dtype=np.float64))


def _mean_and_variance(values: np.ndarray) -> tuple[float, float]:
    """Exact mean and (population) variance of an integer array: integer sums, one division."""
    n = values.size
    total = int(values.sum(dtype=np.int64))
    squares = int(np.einsum("i,i->", values, values, dtype=np.int64))
    return total / n, (n * squares - total * total) / (n * n)


@dataclass
class Decodable:
    """The stored PNG decodes to exactly the generated pixels (and the pipeline gave finite pixels)."""

    kind: ClassVar[str] = "decodable"
    higher_is_better: ClassVar[bool] = True
    name: str = "decodable"

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        from PIL import Image

        results = []
        for c in candidates:
            if c.pixels is None or c.png is None:
                results.append(FilterResult(self.name, False, None, c.problem or "no image was produced"))
                continue
            try:
                with Image.open(io.BytesIO(c.png)) as im:
                    decoded = np.asarray(im if im.mode == "RGB" else im.convert("RGB"))
            except Exception as exc:  # any decoder failure is this filter's verdict
                results.append(FilterResult(self.name, False, None, f"PNG does not decode: {exc}"))
                continue
            if decoded.shape != c.pixels.shape or not np.array_equal(decoded, c.pixels):
                results.append(FilterResult(self.name, False, None, "PNG does not round-trip to the generated pixels"))
            else:
                results.append(FilterResult(self.name, True, None, ""))
        return results


@dataclass
class MinSize:
    """Rejects images whose shorter side is below `min_side` pixels (thumbnails, broken outputs).

    Score: the shorter side in pixels.
    """

    kind: ClassVar[str] = "min_size"
    higher_is_better: ClassVar[bool] = True
    min_side: int = 64
    name: str = "min_size"

    def __post_init__(self) -> None:
        if self.min_side < 1:
            raise ValueError(f"min_side must be at least 1, got {self.min_side}")

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        def measure(c):
            h, w = c.pixels.shape[:2]
            side = min(h, w)
            return side, (
                f"too small: {w}×{h}, shorter side {side} < {self.min_side} px" if side < self.min_side else ""
            )

        return judge_each(self, candidates, measure)


@dataclass
class NotBlack:
    """Rejects all-black images, which is what safety checkers return for outputs they blank.

    Score: mean grey level, 0-255.
    """

    kind: ClassVar[str] = "not_black"
    higher_is_better: ClassVar[bool] = True
    max_mean: float = 4.0
    name: str = "not_black"

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        def measure(c):
            mean = float(c.grey.mean(dtype=np.float64))
            black = mean < self.max_mean
            return mean, (
                f"all black (mean grey {mean:.1f} < {self.max_mean:g}; safety checkers blank outputs so)"
                if black
                else ""
            )

        return judge_each(self, candidates, measure)


@dataclass
class NotBlank:
    """Rejects near-constant images (failed generations: one flat colour).

    Score: standard deviation of the grey levels, 0-255.
    """

    kind: ClassVar[str] = "not_blank"
    higher_is_better: ClassVar[bool] = True
    min_std: float = 2.0
    name: str = "not_blank"

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        def measure(c):
            std = float(c.grey.std(dtype=np.float64))
            flat = std < self.min_std
            return std, (f"near-constant image (grey std {std:.2f} < {self.min_std:g})" if flat else "")

        return judge_each(self, candidates, measure)


@dataclass
class Exposure:
    """Rejects badly exposed images: more than `max_clipped` of the pixels crushed to black (luma ≤ 2)
    or blown to white (luma ≥ 253).

    Score: the larger of the two clipped fractions, 0-1.
    """

    kind: ClassVar[str] = "exposure"
    higher_is_better: ClassVar[bool] = False
    max_clipped: float = 0.5
    name: str = "exposure"

    def __post_init__(self) -> None:
        if not 0.0 <= self.max_clipped <= 1.0:
            raise ValueError(f"max_clipped is a fraction of pixels, 0-1; got {self.max_clipped}")

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        def measure(c):
            grey = c.grey
            dark = np.count_nonzero(grey <= DARK) / grey.size
            bright = np.count_nonzero(grey >= BRIGHT) / grey.size
            worst, side = (dark, "black") if dark >= bright else (bright, "white")
            over = worst > self.max_clipped
            return worst, (
                f"{100 * worst:.0f}% of pixels clipped to {side} (max {100 * self.max_clipped:.0f}%)" if over else ""
            )

        return judge_each(self, candidates, measure)


@dataclass
class NotNoise:
    """Rejects pure noise: images whose neighbouring pixels are (nearly) uncorrelated. Photographs and
    renders have lag-1 autocorrelation above 0.8; independent per-pixel noise has about 0.

    Score: lag-1 autocorrelation of the grey levels, the smaller of the horizontal and vertical one.
    """

    kind: ClassVar[str] = "noise"
    higher_is_better: ClassVar[bool] = True
    min_correlation: float = 0.4
    name: str = "noise"

    def __post_init__(self) -> None:
        if not -1.0 <= self.min_correlation <= 1.0:
            raise ValueError(f"min_correlation is a correlation, -1 to 1; got {self.min_correlation}")

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        def measure(c):
            d = c.grey - np.float32(c.grey.mean(dtype=np.float64))
            var = _sum_of_products(d, d) / d.size
            if var == 0.0:
                return 1.0, ""  # flat: not noise (not_blank is the check for that)
            h, w = d.shape
            horizontal = _sum_of_products(d[:, 1:], d[:, :-1]) / max(1, h * (w - 1)) / var
            vertical = _sum_of_products(d[1:], d[:-1]) / max(1, (h - 1) * w) / var
            corr = min(horizontal, vertical)
            noisy = corr < self.min_correlation
            return corr, (
                f"pure noise: neighbouring pixels uncorrelated (autocorrelation {corr:.2f} < {self.min_correlation:g})"
                if noisy
                else ""
            )

        return judge_each(self, candidates, measure)


@dataclass
class Sharpness:
    """Rejects blurred images by the variance of the Laplacian of the grey levels, measured with the
    image scaled down (never up) to at most 512 pixels on its longer side.

    Score: that variance (grey levels squared).
    """

    kind: ClassVar[str] = "sharpness"
    higher_is_better: ClassVar[bool] = True
    min_laplacian_var: float = 10.0
    name: str = "sharpness"

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        from scipy.ndimage import laplace

        def measure(c):
            var = float(laplace(grey_at_most(c.grey, SHARPNESS_SIDE).astype(np.float64), mode="reflect").var())
            blurred = var < self.min_laplacian_var
            return var, (
                f"blurred: variance of the Laplacian {var:.1f} < {self.min_laplacian_var:g}" if blurred else ""
            )

        return judge_each(self, candidates, measure)


@dataclass
class Colourfulness:
    """Hasler & Süsstrunk's colourfulness M (2003): 0 for greyscale, about 15 "slightly", 33 "moderately",
    59 "quite", 82+ "highly" colourful. With ``min_colourfulness: null`` (the presets' choice, since
    black-and-white images are legitimate) it only records the score.
    """

    kind: ClassVar[str] = "colourfulness"
    higher_is_better: ClassVar[bool] = True
    min_colourfulness: float | None = None
    name: str = "colourfulness"

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        def measure(c):
            r, g, b = (c.pixels[..., i] for i in range(3))
            rg = np.subtract(r, g, dtype=np.int16)
            yb2 = np.add(r, g, dtype=np.int16)  # 2·yb = r + g - 2b, in integers (|2·yb| ≤ 510 fits int16)
            yb2 -= b
            yb2 -= b
            rg_mean, rg_var = _mean_and_variance(rg.ravel())
            yb2_mean, yb2_var = _mean_and_variance(yb2.ravel())
            m = math.hypot(math.sqrt(rg_var), math.sqrt(yb2_var) / 2) + 0.3 * math.hypot(rg_mean, yb2_mean / 2)
            dull = self.min_colourfulness is not None and m < self.min_colourfulness
            return m, (f"too little colour: colourfulness {m:.1f} < {self.min_colourfulness:g}" if dull else "")

        return judge_each(self, candidates, measure)


@dataclass
class Entropy:
    """Rejects images with too little information: the Shannon entropy of the grey-level histogram
    (256 bins of BT.601 luma, as pyiqa's ``entropy`` metric and MATLAB's ``entropy``). A flat image has
    0 bits, two tones 1 bit; Kodak photographs 4.8 or more. Computed with a histogram here because
    pyiqa's one-hot implementation needs about 2 GB per megapixel.

    Score: entropy in bits, 0-8.
    """

    kind: ClassVar[str] = "entropy"
    higher_is_better: ClassVar[bool] = True
    min_bits: float = 3.0
    name: str = "entropy"

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_bits <= 8.0:
            raise ValueError(f"min_bits is an entropy of 8-bit grey levels, 0-8; got {self.min_bits}")

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        def measure(c):
            levels = np.clip(np.rint(c.grey), 0, 255).astype(np.uint8)  # rounded, as pyiqa does
            p = np.bincount(levels.ravel(), minlength=256) / levels.size
            p = p[p > 0]
            bits = float(-(p * np.log2(p)).sum()) + 0.0  # no -0.0 for flat images
            low = bits < self.min_bits
            return bits, (f"too little detail: grey-level entropy {bits:.2f} < {self.min_bits:g} bits" if low else "")

        return judge_each(self, candidates, measure)
