"""How a shard's images are grouped into pipeline calls, recorded so that making a shard again gives its bytes.

An image depends on the batch it was denoised in at the floating-point level (one level in a few pixels
between batch sizes 1 and 2 on a CPU), so the same card, seed and batch size give the same bytes only when
every shard is cut into the same batches. Batches never cross a shard (:mod:`aigi_scd.build.engine`), and each
shard's stats file records ``batch_size`` (the size its batches were cut at) and ``batches`` (the size of each
call that made its images, in order: an out-of-memory halving shows as smaller ones). A shard made again (its
tar damaged, or set aside by ``verify --repair``, which keeps the old stats file as ``*.stats.json.damaged``)
replays that grouping; a shard never made before is cut at the batch size of the model's last finished shard,
so a resume without ``--batch-size`` makes what the first run would have made.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aigi_scd.dataset.files import read_json
from aigi_scd.dataset.shards import model_data_dir, stats_name

DAMAGED_STATS_SUFFIX = ".damaged"  # verify --repair keeps a damaged shard's stats file under this suffix


@dataclass(frozen=True)
class ShardBatching:
    """The grouping one shard's images were made in: the size its batches were cut at, and each call's size."""

    batch_size: int
    batches: tuple[int, ...] = ()

    def record(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "batches": list(self.batches)}


@dataclass
class ModelBatching:
    """What a build run knows of one model's batching before it starts: its finished shards' (to continue with)
    and the recorded groupings of shards it is about to make again."""

    last: int | None = None  # the batch size of the model's last finished shard, in plan order
    shards: dict[int, ShardBatching] = field(default_factory=dict)

    def size(self, run_size: int, explicit: bool) -> int:
        """A new shard's batch size: the one given on the command line, else the finished shards' (a resume
        continues as the first run went), else this run's (the card's or measured)."""
        if explicit or self.last is None:
            return run_size
        return self.last


def shard_batching(stats: dict[str, Any] | None) -> ShardBatching | None:
    """The grouping a stats file records (None when it records none: shards made before it was recorded)."""
    if not isinstance(stats, dict):
        return None
    size, batches = stats.get("batch_size"), stats.get("batches")
    if not isinstance(size, int) or size < 1:
        return None
    if not isinstance(batches, list) or not all(isinstance(n, int) and n >= 1 for n in batches):
        batches = []
    return ShardBatching(size, tuple(batches))


def _readable(path: Path) -> dict[str, Any] | None:
    try:
        found = read_json(path)
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def model_batching(out: Path, model: str, finished: dict[int, dict[str, Any]], redo: Iterable[int]) -> ModelBatching:
    """The batching of `model` for a run that keeps the `finished` shards and makes the shards `redo` again,
    whose earlier grouping is read from their stats file (still there when its tar was damaged) or from the copy
    a repair set aside."""
    known = ModelBatching()
    for index in sorted(finished):
        recorded = shard_batching(finished[index])
        if recorded is not None:
            known.last = recorded.batch_size
    folder = model_data_dir(out, model)
    for index in redo:
        path = folder / stats_name(index)
        for candidate in (path, path.with_name(path.name + DAMAGED_STATS_SUFFIX)):
            recorded = shard_batching(_readable(candidate)) if candidate.is_file() else None
            if recorded is not None:
                known.shards[index] = recorded
                break
    return known


def batches_of(sizes: Sequence[int | None]) -> list[int]:
    """The calls a shard's images were made in, from each image's recorded call size in plan order (how a stats
    file rebuilt from its tars gets them back): a call of size n took the next n images (fewer at the end)."""
    batches, position = [], 0
    while position < len(sizes):
        size = sizes[position]
        if not isinstance(size, int) or size < 1:
            return []  # an image without its call size: the grouping is unknown
        batches.append(size)
        position += size
    return batches
