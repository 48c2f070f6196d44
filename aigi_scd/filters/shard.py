"""Filter one shard's candidates through a chain and write them: kept samples to the shard's tar,
rejects (with their reasons) to its rejects tar. Used by ``build`` (fresh images) and ``filter``
(images read back from existing shards), so both judge and record in exactly the same way.

With no shard steps in the chain each batch is written as soon as it is judged. Otherwise images
rejected per image are written at once and the survivors wait (as PNG bytes, pixels dropped) until
the shard is complete and the shard steps have judged them together.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.dataset.sample import json_bytes, verdict_fields
from aigi_scd.dataset.shards import AtomicTarWriter
from aigi_scd.filters.base import Candidate
from aigi_scd.filters.chain import FilterChain

# A candidate and the function that makes its sample json (called once its per-image results are in).
Pending = tuple[Candidate, Callable[[Candidate], dict[str, Any]]]


@dataclass
class ShardOutcome:
    """What a stats file records about a shard's filtering."""

    kept: int = 0
    rejected: int = 0
    keys: list[str] = field(default_factory=list)
    rejects_by_filter: dict[str, int] = field(default_factory=dict)
    filter_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    filter_seconds: float = 0.0

    def count(self, candidate: Candidate) -> None:
        for result in candidate.results:
            counts = self.filter_counts.setdefault(result.name, {"checked": 0, "passed": 0})
            counts["checked"] += 1
            counts["passed"] += int(result.passed)

    def stats(self, chain: FilterChain) -> dict[str, Any]:
        return {
            "kept": self.kept,
            "rejected": self.rejected,
            "keys": self.keys,
            "rejects_by_filter": self.rejects_by_filter,
            "filters": chain.names,
            "preset": chain.name,
            "filter_counts": {name: self.filter_counts.get(name, {"checked": 0, "passed": 0}) for name in chain.names},
            "filter_state": self.state,
            "filter_seconds": self.filter_seconds,
        }


def _fields(candidate: Candidate, record: dict[str, Any]) -> dict[str, bytes]:
    fields = {"json": json_bytes(record)}
    if candidate.png is not None:
        fields[candidate.image_ext] = candidate.png
    return fields


def filter_shard(
    batches: Iterable[list[Pending]],
    chain: FilterChain,
    kept_path: Path,
    reject_path: Path,
    on_batch: Callable[[int], None] | None = None,
    score: Callable[[list[Candidate]], None] | None = None,
    before_decide: Callable[[], None] | None = None,
) -> ShardOutcome:
    """Judge every candidate of `batches` (one shard, in plan order) and write kept and rejected tars.

    `score` replaces ``chain.score`` (the build engine's, which finishes what its host workers began);
    `before_decide` runs once every batch is in, before the shard steps judge (a distributed build waits
    there for the shards before this one, whose kept images the steps must know).
    Both tars appear only when the whole shard is done; on any error neither does.
    """
    score = score or chain.score
    outcome = ShardOutcome()
    kept = AtomicTarWriter(kept_path)
    rejected = AtomicTarWriter(reject_path)
    waiting: list[tuple[Candidate, dict[str, Any]]] = []

    def write(candidate: Candidate, record: dict[str, Any]) -> None:
        record.update(verdict_fields(candidate))
        outcome.count(candidate)
        if candidate.rejected_by is None:
            kept.write(candidate.key, _fields(candidate, record))
            outcome.keys.append(candidate.key)
        else:
            rejected.write(candidate.key, _fields(candidate, record))
            name = candidate.rejected_by.name
            outcome.rejects_by_filter[name] = outcome.rejects_by_filter.get(name, 0) + 1

    try:
        for batch in batches:
            began = time.perf_counter()
            candidates = [c for c, _ in batch]
            score(candidates)
            outcome.filter_seconds += time.perf_counter() - began
            for candidate, make_record in batch:
                record = make_record(candidate)
                if candidate.rejected_by is None and chain.steps:
                    candidate.drop_pixels()  # the shard steps have their features; keep only the PNG
                    waiting.append((candidate, record))
                else:
                    write(candidate, record)
            if on_batch is not None:
                on_batch(len(batch))
        if before_decide is not None:
            before_decide()
        if waiting:
            began = time.perf_counter()
            chain.decide([c for c, _ in waiting])
            outcome.filter_seconds += time.perf_counter() - began
            for candidate, record in waiting:
                write(candidate, record)
        survivors = [c for c, _ in waiting if c.rejected_by is None]
        outcome.state = chain.remember(survivors) if chain.steps else {}
        kept.commit()
        rejected.commit()
    except BaseException:
        kept.abort()
        rejected.abort()
        raise
    outcome.kept, outcome.rejected = kept.count, rejected.count
    return outcome
