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


def check_threshold(threshold: float) -> float:
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


class NearDuplicateFilter:
    """Incremental near-duplicate removal: each call's prompts are compared with every prompt kept so far.

    The embedding model loads on the first call, never before.
    """

    def __init__(self, threshold: float, progress: bool = False):
        self.threshold = check_threshold(threshold)
        self.progress = progress
        self.kept: list[PromptSpec] = []
        self.duplicates: list[Duplicate] = []
        self._vectors = np.zeros((0, 384), dtype=np.float32)

    def __call__(self, specs: Sequence[PromptSpec]) -> list[bool]:
        from aigi_scd.prompts.embed import embed

        vectors = embed([s.text for s in specs], progress=self.progress)
        old = self._vectors
        keep, match, score = greedy_keep(vectors, old, self.threshold)
        pool = self.kept + list(specs)
        for i, spec in enumerate(specs):
            if not keep[i]:
                self.duplicates.append(Duplicate(spec, pool[match[i]], float(score[i])))
        self.kept.extend(s for s, k in zip(specs, keep, strict=True) if k)
        self._vectors = np.concatenate([old, vectors[keep]])
        return keep.tolist()


def near_dedup(
    specs: Sequence[PromptSpec], threshold: float, progress: bool = False
) -> tuple[list[PromptSpec], list[Duplicate]]:
    """Keep the first of each group of prompts whose embeddings are at least `threshold` cosine-similar."""
    flt = NearDuplicateFilter(threshold, progress)
    keep = flt(specs)
    return [s for s, k in zip(specs, keep, strict=True) if k], flt.duplicates
