"""Rate control: the best picture whose file fits a byte budget.

Two searches serve every codec: the highest quality setting that fits at one resolution (a binary
search, since file size grows with quality), and, for thumbnail codecs, the resolution ("scale") whose
best-fitting AV1 encode reconstructs best (:class:`ThumbnailSearch`).

The thumbnail search is built around what an encode costs (an AV1 encode at the final speed 4 costs
10–30 times one at speed 10, and the search before issue 15 spent ~97 encodes per file, ~9 of them at
the final speed). libavif maps its 101 quality values onto 64 AV1 quantizers, so only 64 levels give
different files; sizes grow smoothly with the level, so an interpolation search on log(size) finds the
highest fitting level in about three encodes. Scales are scouted at the fast `search_speed`, largest
thumbnail first, until quality has fallen `patience` times past its peak; the best scout is redone at
the final `speed` from the level the scout found, corrected by the size ratio between the two speeds
measured on the first final encode (the next scouts only while a redone one underfills). Encodes are
cached by (scale, level, speed), so a MISC encode that asks again with a larger budget (after shortening
its text) reuses them, and so do the encodes of the same image at other targets (:meth:`ThumbnailSearch.new_encode`
between them: each target's file is then the one a search of its own would choose, from shared encodes) and the
searches of other codecs on the same image (:class:`ThumbnailEncodes`: MISC's pixel layer and thumb-avif encode the
same thumbnails).
benchmarks/bench_codec.py measures it against the search it replaced.

The encoder is AV1 by default; any other (``encoder(thumbnail, quality, speed) -> file``, ``decoder(file) ->
image``, its `qualities` lowest first) takes the same search: HEVC, JPEG XL, a CompressAI model, a plugin.
An encoder without a speed setting ignores it (give ``search_speed == speed``: one pass).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from aigi_scd.codec.formats.av1 import decode_avif, encode_avif, resize


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


# The first libavif quality (0–100) of each group of qualities that give the same AV1 file: libavif and aom
# map 101 qualities onto 64 quantizers. Measured with Pillow's libavif (tests/test_codec_rate.py checks that
# the installed encoder still groups qualities this way); a different grouping would only make the search
# try a few redundant or coarser levels, never write a file over budget.
AV1_LEVELS = (
    0, 3, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 35, 37, 39, 40, 42, 44, 45, 47, 49, 50, 52,
    54, 55, 56, 58, 59, 60, 62, 63, 64, 66, 67, 68, 70, 71, 72, 74, 75, 76, 78, 79, 80, 82, 83, 84, 86, 87, 88,
    90, 91, 92, 94, 95, 96, 98, 99, 100,
)  # fmt: skip


def av1_quality_levels(max_quality: int = 100) -> list[int]:
    """One libavif quality per distinct AV1 file, lowest quality first, up to `max_quality`."""
    return [q for q in AV1_LEVELS if q <= max_quality]


def interpolation_search(
    cost: Callable[[int], int], budget: int, count: int, guess: int, known: dict[int, int] | None = None
) -> int | None:
    """The highest index in ``range(count)`` whose (increasing) ``cost`` fits `budget`, or None.

    Probes where a straight line through log(cost) of the known neighbours crosses log(budget), clamped
    strictly inside the unresolved bracket, so it ends as a bisection would but in a few probes. `known`: costs
    already measured (index → cost), which narrow the bracket before the first probe.
    """
    known = dict(known or {})

    def probe(i: int) -> int:
        if i not in known:
            known[i] = cost(i)
        return known[i]

    hi = min((k for k, c in known.items() if c > budget), default=count)  # lo fits (or -1), hi does not (or count)
    lo = max((k for k, c in known.items() if c <= budget and k < hi), default=-1)
    if hi - lo <= 1:
        return lo if lo >= 0 else None
    i = min(max(guess, lo + 1, 0), hi - 1, count - 1)
    slope = 0.05  # log-size per level before two probes tell better (AV1 thumbnails: about 4–6%)
    while hi - lo > 1:
        c = probe(i)
        if c <= budget:
            lo = i
        else:
            hi = i
        if hi - lo <= 1:
            break
        fits = [k for k in known if k <= lo] or [i]
        over = [k for k in known if k >= hi] or [i]
        a, b = max(fits), min(over)
        if a != b and known[a] > 0 and known[b] > 0:
            slope = max((math.log(known[b]) - math.log(known[a])) / (b - a), 1e-3)
        step = (math.log(budget) - math.log(max(c, 1))) / slope
        move = max(1, math.floor(step)) if c <= budget else min(-1, math.floor(step))
        i = min(max(i + move, lo + 1), hi - 1)
    return lo if lo >= 0 else None


@dataclass
class ThumbnailChoice:
    """One encode of the image as an AV1 thumbnail: what was chosen and how it reconstructs."""

    size: tuple[int, int]  # thumbnail width, height
    quality: int
    avif: bytes  # the complete file the encoder wrote (AVIF for the default AV1 encoder)
    counted: int  # bytes this encode costs in the caller's file
    psnr: float  # of the reconstruction upscaled to the original size

    @property
    def data(self) -> bytes:
        """The encoder's file, whatever its format."""
        return self.avif


def thumbnail_sizes(width: int, height: int, scales: Sequence[float]) -> list[tuple[int, int]]:
    """Distinct thumbnail sizes, one per downscale factor (each side divided by the factor)."""
    sizes = []
    for factor in scales:
        size = (max(1, round(width / factor)), max(1, round(height / factor)))
        if size not in sizes:
            sizes.append(size)
    return sizes


def exact_psnr(original: np.ndarray, reconstruction: np.ndarray) -> float:
    """:func:`aigi_scd.codec.formats.av1.psnr`, bit for bit, from integer differences (`original` as int16): every
    partial sum of squared 8-bit differences is an integer below 2**53, so the float64 sum is exact in any order and
    the mean is the same number, at a third of the cost."""
    diff = (reconstruction.astype(np.int16) - original).astype(np.float64).ravel()
    mse = float(np.dot(diff, diff)) / diff.size
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


THUMBNAIL_ENCODES = "av1-thumbnails"  # the image cache's entry (codec/base.py: image_work) for ThumbnailEncodes


class ThumbnailEncodes:
    """The thumbnails of one image and their encodes by one encoder, shared by every search on that image with that
    encoder: MISC's pixel layer and thumb-avif resize with the same Lanczos filter and encode with the same AV1
    encoder, so their searches, at every target, can share one store (an encode is the same bytes whoever asks for
    it). Other encoders (``encoder(thumbnail, quality, speed) -> file``, ``decoder(file) -> image``) get a store of
    their own."""

    def __init__(
        self,
        image: Image.Image,
        encoder: Callable[[Image.Image, int, int], bytes] = encode_avif,
        decoder: Callable[[bytes], Image.Image] = decode_avif,
    ):
        self.image = image
        self.encoder, self.decoder = encoder, decoder
        self.original = np.asarray(image, dtype=np.int16)  # for exact integer differences
        self.thumbs: dict[tuple[int, int], Image.Image] = {}
        self.files: dict[tuple[tuple[int, int], int, int], bytes] = {}  # (size, quality, speed) → file
        self.psnr: dict[tuple[tuple[int, int], int, int], float] = {}  # of that file upscaled to the image's size

    def file(self, size: tuple[int, int], quality: int, speed: int) -> tuple[bytes, bool]:
        """The file of the thumbnail of `size` at `quality` and `speed`, and whether it was encoded now."""
        key = (size, quality, speed)
        if key in self.files:
            return self.files[key], False
        if size not in self.thumbs:
            self.thumbs[size] = resize(self.image, size)
        self.files[key] = self.encoder(self.thumbs[size], quality, speed)
        return self.files[key], True

    def reconstruction_psnr(self, size: tuple[int, int], quality: int, speed: int) -> float:
        key = (size, quality, speed)
        if key not in self.psnr:
            recon = resize(self.decoder(self.file(size, quality, speed)[0]), self.image.size)
            self.psnr[key] = exact_psnr(self.original, np.asarray(recon))
        return self.psnr[key]


class ThumbnailSearch:
    """The thumbnail encodes of one image, searched for the best one under a budget (cached across budgets).

    ``counted(file, thumb_size)`` is what an encode costs in the caller's file. Among the scales,
    encodes that fill at least `min_fill` of the budget are preferred, so files land within 90–100% of
    their target wherever some scale allows it; among those, the best PSNR after upscaling wins.
    """

    def __init__(
        self,
        image: Image.Image,
        counted: Callable[[bytes, tuple[int, int]], int],
        *,
        scales: Sequence[float],
        speed: int,
        search_speed: int | None = None,
        finalists: int = 2,
        min_fill: float = 0.9,
        max_quality: int = 100,
        patience: int = 2,
        encoder: Callable[[Image.Image, int, int], bytes] = encode_avif,
        decoder: Callable[[bytes], Image.Image] = decode_avif,
        qualities: Sequence[int] | None = None,
        encodes: ThumbnailEncodes | None = None,
    ):
        self.image = image
        # shared with other searches on the image (same encoder)
        self.store = ThumbnailEncodes(image, encoder, decoder) if encodes is None else encodes
        self.counted = counted
        self.sizes = thumbnail_sizes(*image.size, scales)
        self.speed = speed
        self.search_speed = speed if search_speed is None else search_speed
        self.finalists = finalists
        self.min_fill = min_fill
        self.patience = patience
        self.levels = av1_quality_levels(max_quality) if qualities is None else list(qualities)
        self._choices: dict[tuple[tuple[int, int], int, int], ThumbnailChoice] = {}
        self._scout_level: dict[tuple[int, int], int] = {}
        self.encodes = 0  # AV1 encodes run so far (for benchmarks)

    def new_encode(self) -> ThumbnailSearch:
        """Start another file of the same image (another target): the hints earlier searches left (the level each
        scale's scout found) are dropped, the encodes are kept, so the next :meth:`fit` makes exactly the choice a
        fresh search would make, paying only for the encodes no earlier target ran."""
        self._scout_level.clear()
        return self

    def _file(self, size: tuple[int, int], level: int, speed: int) -> bytes:
        data, made = self.store.file(size, self.levels[level], speed)
        self.encodes += made
        return data

    def _cost(self, size: tuple[int, int], level: int, speed: int) -> int:
        return self.counted(self._file(size, level, speed), size)

    def _choice(self, size: tuple[int, int], level: int, speed: int) -> ThumbnailChoice:
        key = (size, level, speed)
        if key not in self._choices:
            data = self._file(size, level, speed)
            quality = self.levels[level]
            self._choices[key] = ThumbnailChoice(
                size, quality, data, self.counted(data, size), self.store.reconstruction_psnr(size, quality, speed)
            )
        return self._choices[key]

    def _rank(self, choices: list[ThumbnailChoice], budget: int) -> list[ThumbnailChoice]:
        full = [c for c in choices if c.counted >= self.min_fill * budget]
        rest = [c for c in choices if c.counted < self.min_fill * budget]
        return sorted(full, key=lambda c: -c.psnr) + sorted(rest, key=lambda c: -c.psnr)

    def _scout(self, size: tuple[int, int], budget: int, guess: int) -> int | None:
        level = interpolation_search(lambda i: self._cost(size, i, self.search_speed), budget, len(self.levels), guess)
        if level is not None:
            self._scout_level[size] = level
        return level

    def _refine(self, size: tuple[int, int], start: int, budget: int) -> ThumbnailChoice | None:
        """The highest level that fits at the final speed. The first final encode, at the scout's level, gives the
        size ratio between the final and the scouting encoder; the (cheap) scouting sizes scaled by it predict
        the level to try next, so most refinements take two final encodes."""
        fast, slow = self.search_speed, self.speed
        top = len(self.levels) - 1
        tried: dict[int, int] = {}

        def final_cost(level: int) -> int:
            if level not in tried:
                tried[level] = self._cost(size, level, slow)
            return tried[level]

        level = start
        while True:
            cost = final_cost(level)
            ratio = cost / max(1, self._cost(size, level, fast))
            fits = [k for k, c in tried.items() if c <= budget]
            over = [k for k, c in tried.items() if c > budget]
            low = max(fits, default=-1)
            high = min(over, default=top + 1)
            if high - low <= 1:
                break
            predicted = low + 1
            while predicted + 1 < high and ratio * self._cost(size, predicted + 1, fast) <= budget:
                predicted += 1
            if cost > budget:  # step down from an encode that did not fit: the prediction, or one below it
                predicted = min(predicted, level - 1)
            elif predicted == low + 1 and ratio * self._cost(size, predicted, fast) > budget:
                break  # the next level is predicted not to fit: this one is the highest
            level = predicted
        low = max((k for k, c in tried.items() if c <= budget), default=None)
        return None if low is None else self._choice(size, low, slow)

    def fit(self, budget: int) -> ThumbnailChoice | None:
        """The best-reconstructing encode whose cost is at most `budget` bytes; None if no scale fits at all."""
        scouts: list[ThumbnailChoice] = []
        best: ThumbnailChoice | None = None
        past_best = 0
        guess = len(self.levels) // 4
        for size in self.sizes:  # largest thumbnail first: each smaller one fits a higher level
            level = self._scout(size, budget, self._scout_level.get(size, guess))
            if level is None:
                continue
            scout = self._choice(size, level, self.search_speed)
            scouts.append(scout)
            guess = level + 2
            if scout.counted >= self.min_fill * budget and (best is None or scout.psnr > best.psnr):
                best, past_best = scout, 0
            elif best is not None:
                past_best += 1
                if past_best >= self.patience:
                    break  # quality over scale rises to one peak and falls: the rest are smaller and worse
        if not scouts:
            return self._fit_at_final_speed(budget)
        ranked = self._rank(scouts, budget)
        if self.search_speed == self.speed:
            return ranked[0]
        finals = []
        for scout in ranked[: self.finalists]:  # the best scout, then the next ones while a final underfills
            final = self._refine(scout.size, self.levels.index(scout.quality), budget)
            if final is not None:
                finals.append(final)
                if final.counted >= self.min_fill * budget:
                    break
        return self._rank(finals, budget)[0] if finals else None

    def _fit_at_final_speed(self, budget: int) -> ThumbnailChoice | None:
        """Near the smallest file the scouting encoder's files can be larger than the final one's: when no scout
        fits, the smallest thumbnails are searched at the final speed (they are the cheap ones to encode)."""
        found = []
        for size in reversed(self.sizes):
            level = interpolation_search(
                lambda i, size=size: self._cost(size, i, self.speed), budget, len(self.levels), 0
            )
            if level is None:
                break
            found.append(self._choice(size, level, self.speed))
        return self._rank(found, budget)[0] if found else None

    def smallest_cost(self) -> int:
        """What the smallest encode costs: the smallest thumbnail at the lowest quality, at the final speed."""
        return self._cost(self.sizes[-1], 0, self.speed)
