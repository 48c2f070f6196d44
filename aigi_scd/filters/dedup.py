"""Near-duplicates across seeds and models, by perceptual hash (pHash, 64 bits, via imagehash).

An image is a near-duplicate when its hash lies within `max_distance` bits of an image already kept
by this build (any model, earlier in plan order) or of an earlier survivor of the same shard. Unrelated
images differ in about half their 64 bits (Kodak: at least 20); re-encodings, small shifts and
resizes of one image differ in a handful.

The index holds only images that ended up kept; a resumed build rebuilds it from the finished shards'
stats (their ``state``), in plan order, so it keeps exactly what an uninterrupted run keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from aigi_scd.filters.base import Candidate, FilterResult

FEATURE = "phash"


def phash(pixels: np.ndarray) -> str:
    """The 64-bit perceptual hash of HxWx3 uint8 pixels, as 16 hex digits."""
    import imagehash
    from PIL import Image

    return str(imagehash.phash(Image.fromarray(pixels)))


def _bits(hashes: list[str]) -> np.ndarray:
    return np.array([int(h, 16) for h in hashes], dtype=np.uint64)


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    return np.unpackbits(values.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


@dataclass
class Dedup:
    """Rejects near-duplicates of images already kept. Score: Hamming distance (bits) to the nearest one."""

    kind: ClassVar[str] = "dedup"
    higher_is_better: ClassVar[bool] = True
    stateful: ClassVar[bool] = True  # remembers kept images across shards
    max_distance: int = 6
    name: str = "dedup"
    _hashes: list[str] = field(default_factory=list, init=False, repr=False, metadata={"internal": True})
    _keys: list[str] = field(default_factory=list, init=False, repr=False, metadata={"internal": True})

    def __post_init__(self) -> None:
        if not 0 <= self.max_distance < 64:
            raise ValueError(f"max_distance is a number of bits of a 64-bit hash, 0-63; got {self.max_distance}")

    def features(self, candidates: list[Candidate]) -> None:
        for c in candidates:
            c.features[FEATURE] = phash(c.pixels)

    def decide(self, candidates: list[Candidate]) -> list[FilterResult]:
        keys, bits = list(self._keys), _bits(self._hashes)
        results = []
        for c in candidates:
            mine = int(c.features[FEATURE], 16)
            if len(keys):
                distances = _popcount(np.bitwise_xor(bits, np.uint64(mine)))
                nearest = int(np.argmin(distances))
                distance = int(distances[nearest])
            else:
                distance = None
            if distance is not None and distance <= self.max_distance:
                reason = (
                    f"near-duplicate of {keys[nearest]} (perceptual-hash distance {distance} ≤ {self.max_distance})"
                )
                results.append(FilterResult(self.name, False, float(distance), reason))
                continue
            results.append(FilterResult(self.name, True, None if distance is None else float(distance), ""))
            keys.append(c.key)
            bits = np.append(bits, np.uint64(mine))
        return results

    def remember(self, kept: list[Candidate]) -> None:
        self.restore(self.shard_state(kept))

    def shard_state(self, kept: list[Candidate]) -> list[list[str]]:
        """What a stats file records so that a resumed build can :meth:`restore` this shard: [key, hash] pairs
        in plan order (the order decides which of two equally near images a reason names)."""
        return [[c.key, c.features[FEATURE]] for c in kept]

    def restore(self, state: list[list[str]]) -> None:
        for key, value in state:
            self._keys.append(key)
            self._hashes.append(value)

    def reset(self) -> None:
        self._keys.clear()
        self._hashes.clear()
