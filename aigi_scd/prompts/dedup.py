"""Duplicate removal: exact (same normalised text, hence same id) and near (sentence-embedding cosine similarity).

Both are greedy and order-preserving: the first prompt of a group is kept, later ones that repeat it
are removed, and every removal is recorded with the prompt it duplicates, so a user can see why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aigi_scd.errors import ConfigError
from aigi_scd.prompts.spec import PromptSpec

# Rows of the similarity matrix computed at once: bounds memory at BLOCK x N floats.
BLOCK = 1024


@dataclass(frozen=True)
class Duplicate:
    """A removed prompt, the kept prompt it repeats, and their cosine similarity (1.0 for exact copies)."""

    removed: PromptSpec
    kept: PromptSpec
    similarity: float


def check_near_dup_threshold(threshold: float) -> float:
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(
            f"--near-dup must be a cosine similarity in (0, 1], got {threshold} "
            "(e.g. 0.92 removes close paraphrases, 0.97 only near-copies)"
        )
    return float(threshold)


def exact_dedup(specs: Sequence[PromptSpec]) -> tuple[list[PromptSpec], list[Duplicate]]:
    """Keep the first prompt of each normalised text."""
    first: dict[str, PromptSpec] = {}
    kept, removed = [], []
    for spec in specs:
        if spec.id in first:
            removed.append(Duplicate(spec, first[spec.id], 1.0))
        else:
            first[spec.id] = spec
            kept.append(spec)
    return kept, removed


def greedy_keep(new: np.ndarray, old: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which rows of `new` to keep, given rows `old` already kept: a row goes when its cosine similarity with
    a kept row (of `old`, or an earlier kept row of `new`) reaches `threshold`.

    Returns (keep mask, index of the matched row, similarity); the index counts `old` rows first, then `new`.
    Rows must be unit length.
    """
    n = len(new)
    keep = np.ones(n, dtype=bool)
    match = np.full(n, -1, dtype=np.int64)
    score = np.zeros(n, dtype=np.float32)
    if len(old):
        for a in range(0, n, BLOCK):
            sims = new[a : a + BLOCK] @ old.T
            best = sims.argmax(axis=1)
            value = sims[np.arange(len(sims)), best]
            hit = value >= threshold
            keep[a : a + BLOCK][hit] = False
            match[a : a + BLOCK][hit] = best[hit]
            score[a : a + BLOCK][hit] = value[hit]
    offset = len(old)
    for a in range(0, n, BLOCK):
        b = min(n, a + BLOCK)
        sims = new[a:b] @ new[:b].T
        hits = sims >= threshold
        hits[:, a:b] &= np.tri(b - a, b - a, -1, dtype=bool)  # only earlier rows count
        for r in np.flatnonzero(hits.any(axis=1)):
            i = a + r
            if not keep[i]:
                continue
            earlier = np.flatnonzero(hits[r])
            earlier = earlier[keep[earlier]]
            if len(earlier):
                j = earlier[sims[r, earlier].argmax()]
                keep[i] = False
                match[i] = offset + j
                score[i] = sims[r, j]
    return keep, match, score


def candidates(new: np.ndarray, old: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the rows of `new` and `old` in at least one pair (new-old, or two rows of new) with similarity
    at least `floor`: the only rows whose near-duplicate decision can depend on the exact embeddings."""
    in_new = np.zeros(len(new), dtype=bool)
    in_old = np.zeros(len(old), dtype=bool)
    for a in range(0, len(new), BLOCK):
        b = min(len(new), a + BLOCK)
        if len(old):
            hits = (new[a:b] @ old.T) >= floor
            in_new[a:b] |= hits.any(axis=1)
            in_old |= hits.any(axis=0)
        hits = (new[a:b] @ new[:b].T) >= floor
        hits[:, a:b] &= np.tri(b - a, b - a, -1, dtype=bool)
        in_new[a:b] |= hits.any(axis=1)
        in_new[:b] |= hits.any(axis=0)
    return in_new, in_old


# How far a bfloat16 embedding's cosine similarity may stray from the float32 one. Measured agreement of the
# vectors themselves is better than 0.99997 cosine (a difference of norm < 0.008 each), so a pair's similarity
# moves by less than 0.016; pairs screened in within this margin of the threshold are decided in float32.
SCREEN_MARGIN = 0.03


class NearDuplicateFilter:
    """Incremental near-duplicate removal: each call's prompts are compared with every prompt kept so far.

    Decisions are those of float32 embeddings. Where the CPU has fast bfloat16, every prompt is first
    embedded in bfloat16 to screen pairs, and only prompts in a pair within SCREEN_MARGIN of the threshold
    are embedded again in float32 and decided on those vectors: the float32 result at about bfloat16 cost,
    and the same prompts on machines with and without bfloat16. The model loads on the first call.
    """

    def __init__(self, threshold: float, progress: bool = False, precision: str = "auto"):
        from aigi_scd.prompts.embed import resolve_precision

        self.threshold = check_near_dup_threshold(threshold)
        self.progress = progress
        self.precision = resolve_precision(precision)
        self.kept: list[PromptSpec] = []
        self.duplicates: list[Duplicate] = []
        self._screen = np.zeros((0, 384), dtype=np.float32)  # one row per kept prompt
        self._exact: dict[int, np.ndarray] = {}  # kept index -> float32 embedding, when computed
        self.confirmed = 0  # prompts embedded again in float32 because a pair came near the threshold

    def _exact_rows(self, texts: list[str], screened: np.ndarray) -> np.ndarray:
        from aigi_scd.prompts.embed import embed

        if self.precision == "float32":
            return screened
        self.confirmed += len(texts)
        return embed(texts, precision="float32")

    def __call__(self, specs: Sequence[PromptSpec]) -> list[bool]:
        from aigi_scd.prompts.embed import embed

        specs = list(specs)
        screen = embed([s.text for s in specs], progress=self.progress, precision=self.precision)
        margin = SCREEN_MARGIN if self.precision != "float32" else 0.0
        in_new, in_old = candidates(screen, self._screen, self.threshold - margin)
        new_idx, old_idx = np.flatnonzero(in_new), np.flatnonzero(in_old)
        missing = [int(j) for j in old_idx if int(j) not in self._exact]
        if missing:
            rows = self._exact_rows([self.kept[j].text for j in missing], self._screen[missing])
            self._exact.update(zip(missing, rows, strict=True))
        old_exact = np.stack([self._exact[int(j)] for j in old_idx]) if len(old_idx) else self._screen[:0]
        new_exact = self._exact_rows([specs[i].text for i in new_idx], screen[new_idx])
        keep_c, match_c, score_c = greedy_keep(new_exact, old_exact, self.threshold)
        keep = np.ones(len(specs), dtype=bool)
        keep[new_idx] = keep_c
        for c in np.flatnonzero(~keep_c):
            m = int(match_c[c])
            kept = self.kept[int(old_idx[m])] if m < len(old_idx) else specs[int(new_idx[m - len(old_idx)])]
            self.duplicates.append(Duplicate(specs[int(new_idx[c])], kept, float(score_c[c])))
        exact_of_new = dict(zip(new_idx.tolist(), new_exact, strict=True))
        for i in np.flatnonzero(keep):
            if int(i) in exact_of_new:
                self._exact[len(self.kept)] = exact_of_new[int(i)]
            self.kept.append(specs[int(i)])
        self._screen = np.concatenate([self._screen, screen[keep]])
        return keep.tolist()


def near_dedup(
    specs: Sequence[PromptSpec], threshold: float, progress: bool = False, precision: str = "auto"
) -> tuple[list[PromptSpec], list[Duplicate]]:
    """Keep the first of each group of prompts whose embeddings are at least `threshold` cosine-similar."""
    flt = NearDuplicateFilter(threshold, progress, precision)
    keep = flt(specs)
    return [s for s, k in zip(specs, keep, strict=True) if k], flt.duplicates
