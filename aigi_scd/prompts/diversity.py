"""How varied a prompt set is: category, style and object-count histograms, distinct n-grams, embedding similarity.

distinct-n (Li et al., 2016) is the number of distinct word n-grams over the total number of n-grams;
the mean pairwise cosine similarity of the prompts' sentence embeddings is computed exactly over all
pairs from the sum of the unit vectors (|sum|^2 = N + 2 * sum over pairs), so it costs O(N).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aigi_scd.prompts.spec import PromptSpec

WORD = re.compile(r"[\w'-]+")


def words(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def distinct_ngrams(texts: Sequence[str], n: int) -> tuple[int, int]:
    """(distinct n-grams, total n-grams) over all texts."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        tokens = words(text)
        grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        total += len(grams)
        seen.update(grams)
    return len(seen), total


def mean_pairwise_similarity(vectors: np.ndarray) -> float:
    """Mean cosine similarity over all pairs of distinct rows of unit vectors."""
    n = len(vectors)
    if n < 2:
        return float("nan")
    total = vectors.astype(np.float64).sum(axis=0)
    return float((total @ total - n) / (n * (n - 1)))


@dataclass
class DiversityReport:
    count: int
    categories: Counter
    styles: Counter
    objects_per_prompt: Counter
    distinct_1: tuple[int, int]
    distinct_2: tuple[int, int]
    mean_words: float
    mean_similarity: float | None = None

    def lines(self) -> list[str]:
        out = []
        for title, counter in (("category", self.categories), ("style", self.styles)):
            out.append(f"{title:<22} {'prompts':>7} {'share':>6}")
            for value, n in sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0]))):
                bar = "#" * round(40 * n / max(self.count, 1))
                out.append(f"{str(value if value is not None else '(none)'):<22} {n:>7} {n / self.count:>6.1%} {bar}")
            out.append("")
        objects = ", ".join(f"{k}: {v}" for k, v in sorted(self.objects_per_prompt.items()))
        out.append(f"objects per prompt     {objects}")
        d1, t1 = self.distinct_1
        d2, t2 = self.distinct_2
        out.append(f"distinct 1-grams       {d1} of {t1} ({d1 / max(t1, 1):.3f})")
        out.append(f"distinct 2-grams       {d2} of {t2} ({d2 / max(t2, 1):.3f})")
        out.append(f"mean words per prompt  {self.mean_words:.1f}")
        if self.mean_similarity is not None:
            out.append(f"mean pairwise cosine   {self.mean_similarity:.3f} (all-MiniLM-L6-v2; lower is more diverse)")
        return out


def diversity(specs: Sequence[PromptSpec], vectors: np.ndarray | None = None) -> DiversityReport:
    """Histograms and diversity figures of a prompt set; pass its embeddings for the similarity figure."""
    texts = [s.text for s in specs]
    return DiversityReport(
        count=len(specs),
        categories=Counter(s.category for s in specs),
        styles=Counter(s.style for s in specs),
        objects_per_prompt=Counter(len(s.objects) for s in specs),
        distinct_1=distinct_ngrams(texts, 1),
        distinct_2=distinct_ngrams(texts, 2),
        mean_words=float(np.mean([len(words(t)) for t in texts])) if texts else 0.0,
        mean_similarity=mean_pairwise_similarity(vectors) if vectors is not None else None,
    )
