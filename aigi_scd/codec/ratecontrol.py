"""Rate control: the best picture whose file fits a byte budget.

Two searches serve every codec: the highest quality setting that fits at one resolution (a binary
search, since file size grows with quality), and for thumbnail codecs the resolution ("scale") whose
best-fitting encode reconstructs best. The thumbnail search runs first with a fast encoder speed to
rank scales, then redoes the most promising ones at the final speed, so the result is what the final
speed gives while the search costs a fraction of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from aigi_scd.codec.av1 import decode_avif, encode_avif, psnr, resize


def highest_fitting_quality(size_at: Callable[[int], int], budget: int, lowest: int, highest: int) -> int | None:
    """The largest quality in [lowest, highest] with ``size_at(q) <= budget``, or None if even
    `lowest` does not fit. Assumes size grows with quality (true up to small wiggles)."""
    if size_at(lowest) > budget:
        return None
    lo, hi = lowest, highest
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if size_at(mid) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass
class ThumbnailChoice:
    """One encode of the image as an AV1 thumbnail: what was chosen and how it reconstructs."""

    size: tuple[int, int]  # thumbnail width, height
    quality: int
    avif: bytes  # the complete AVIF file
    counted: int  # bytes this encode costs in the caller's file
    psnr: float  # of the reconstruction upscaled to the original size


def thumbnail_sizes(width: int, height: int, scales: Sequence[float]) -> list[tuple[int, int]]:
    """Distinct thumbnail sizes, one per downscale factor (each side divided by the factor)."""
    sizes = []
    for factor in scales:
        size = (max(1, round(width / factor)), max(1, round(height / factor)))
        if size not in sizes:
            sizes.append(size)
    return sizes


def fit_thumbnail(
    image: Image.Image,
    budget: int,
    counted: Callable[[bytes, tuple[int, int]], int],
    *,
    scales: Sequence[float],
    speed: int,
    search_speed: int | None = None,
    finalists: int = 2,
    min_fill: float = 0.9,
    max_quality: int = 100,
) -> ThumbnailChoice | None:
    """The thumbnail encode (scale, quality) with the best PSNR after upscaling whose cost
    ``counted(avif_file, thumb_size)`` is at most `budget` bytes; None if no scale fits at all.

    Encodes that fill at least `min_fill` of the budget are preferred, so the file lands within
    90–100% of its target wherever some scale allows it.
    """
    original = np.asarray(image)
    full_size = image.size
    search_speed = speed if search_speed is None else search_speed

    def try_scale(size: tuple[int, int], enc_speed: int, start: int | None = None) -> ThumbnailChoice | None:
        thumb = resize(image, size)
        cache: dict[int, bytes] = {}

        def encode(q: int) -> bytes:
            if q not in cache:
                cache[q] = encode_avif(thumb, q, enc_speed)
            return cache[q]

        def cost(q: int) -> int:
            return counted(encode(q), size)

        if start is None:
            q = highest_fitting_quality(cost, budget, 0, max_quality)
        else:  # refine a quality found at another speed: step down until it fits, then up while it does
            q = start
            while q > 0 and cost(q) > budget:
                q -= 1
            if cost(q) > budget:
                return None
            while q < max_quality and cost(q + 1) <= budget:
                q += 1
        if q is None:
            return None
        recon = resize(decode_avif(encode(q)), full_size)
        return ThumbnailChoice(size, q, encode(q), cost(q), psnr(original, np.asarray(recon)))

    def rank(choices: list[ThumbnailChoice]) -> list[ThumbnailChoice]:
        full = [c for c in choices if c.counted >= min_fill * budget]
        rest = [c for c in choices if c.counted < min_fill * budget]
        return sorted(full, key=lambda c: -c.psnr) + sorted(rest, key=lambda c: -c.psnr)

    sizes = thumbnail_sizes(*full_size, scales)
    scouts = [c for c in (try_scale(s, search_speed) for s in sizes) if c is not None]
    if not scouts:
        return None
    if search_speed == speed:
        return rank(scouts)[0]
    finals = [try_scale(c.size, speed, start=c.quality) for c in rank(scouts)[:finalists]]
    finals = [c for c in finals if c is not None]
    return rank(finals)[0] if finals else None
