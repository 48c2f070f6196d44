"""Technical checks that need no model: the image decodes, and it is not blank or black."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from aigi_scd.filters.base import Candidate, FilterResult


@dataclass
class Decodable:
    """The stored PNG decodes to exactly the generated pixels (and the pipeline gave finite pixels)."""

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
                    decoded = np.asarray(im.convert("RGB"))
            except Exception as exc:  # any decoder failure is this filter's verdict
                results.append(FilterResult(self.name, False, None, f"PNG does not decode: {exc}"))
                continue
            if decoded.shape != c.pixels.shape or not np.array_equal(decoded, c.pixels):
                results.append(FilterResult(self.name, False, None, "PNG does not round-trip to the generated pixels"))
            else:
                results.append(FilterResult(self.name, True, None, ""))
        return results


@dataclass
class NotBlank:
    """Rejects near-constant images (failed generations) and all-black ones (safety-checker blanking).

    Score: standard deviation of the grey levels, 0-255.
    """

    min_std: float = 2.0
    black_mean: float = 4.0
    name: str = "not_blank"

    def __call__(self, candidates: list[Candidate]) -> list[FilterResult]:
        results = []
        for c in candidates:
            grey = c.pixels.astype(np.float32).mean(axis=2)
            std, mean = float(grey.std()), float(grey.mean())
            if mean < self.black_mean and std < self.min_std * 4:
                results.append(
                    FilterResult(
                        self.name,
                        False,
                        std,
                        f"all black (mean grey {mean:.1f}); safety checkers blank NSFW outputs so",
                    )
                )
            elif std < self.min_std:
                results.append(
                    FilterResult(self.name, False, std, f"near-constant image (grey std {std:.2f} < {self.min_std})")
                )
            else:
                results.append(FilterResult(self.name, True, std, ""))
        return results


def default_chain() -> list:
    """The checks every build runs until filter presets exist."""
    return [Decodable(), NotBlank()]
