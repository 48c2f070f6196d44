"""Best-of-N: of the N images generated per prompt (``--images-per-prompt N``), keep the top `keep`
by a score another filter of the preset gives (its direction decides what "top" means).

Only candidates that passed every earlier step compete. A build puts all images of a prompt in one
shard, so the choice never spans shards and a resumed build makes the same one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from aigi_scd.filters.base import Candidate, FilterResult


@dataclass
class BestOfN:
    """Keeps the `keep` best candidates of each prompt by the score of the filter named `by`.

    Score: the candidate's rank among its prompt's surviving candidates (1 = best).
    """

    kind: ClassVar[str] = "best_of_n"
    higher_is_better: ClassVar[bool] = False  # its score is a rank
    stateful: ClassVar[bool] = False
    by: str
    keep: int = 1
    name: str = "best_of_n"
    by_higher_is_better: bool = field(default=True, init=False, metadata={"internal": True})

    def __post_init__(self) -> None:
        if self.keep < 1:
            raise ValueError(f"keep must be at least 1, got {self.keep}")

    def features(self, candidates: list[Candidate]) -> None:
        """Nothing beyond the `by` filter's score, which is already in each candidate's results."""

    def decide(self, candidates: list[Candidate]) -> list[FilterResult]:
        groups: dict[str, list[int]] = {}  # a shard holds one model's images: the prompt names the group
        for i, c in enumerate(candidates):
            groups.setdefault(c.prompt.id if c.prompt else c.key, []).append(i)
        results: list[FilterResult | None] = [None] * len(candidates)
        sign = -1.0 if self.by_higher_is_better else 1.0
        for members in groups.values():

            def order(i: int) -> tuple[int, float, int]:
                score = candidates[i].score(self.by)
                return (score is None, sign * score if score is not None else 0.0, i)  # ties: plan order

            ranked = sorted(members, key=order)
            for rank, i in enumerate(ranked, start=1):
                if rank <= self.keep:
                    results[i] = FilterResult(self.name, True, float(rank), "")
                else:
                    score = candidates[i].score(self.by)
                    shown = "no score" if score is None else f"{score:.4g}"
                    reason = (
                        f"rank {rank} of {len(ranked)} candidates for this prompt by {self.by} ({shown}); "
                        f"keeping the best {self.keep}"
                    )
                    results[i] = FilterResult(self.name, False, float(rank), reason)
        return results

    def remember(self, kept: list[Candidate]) -> None:
        """Stateless across shards."""

    def shard_state(self, kept: list[Candidate]) -> None:
        return None

    def restore(self, state) -> None:
        """Stateless across shards."""

    def reset(self) -> None:
        """Stateless across shards."""
