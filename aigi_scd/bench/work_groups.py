"""Which codecs of a `compress` run share work on an image, and how long each such group takes per image: the
Compressor splits a shard's last images into one task per group, longest first, so its workers end together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def work_groups(codecs: dict[str, Any]) -> dict[str, str]:
    """Codec spec → its work group: codecs that share work on an image (a codec's ``shared_work``: MISC's pixel layer
    and thumb-avif encode the same AV1 thumbnails) are one group, so splitting an image's task by group never does
    that work twice; every other codec is a group of its own."""
    group = {spec: spec for spec in codecs}

    def root(spec: str) -> str:
        while group[spec] != spec:
            spec = group[spec]
        return spec

    first: dict[str, str] = {}  # shared entry → the first codec that shares it
    for spec, codec in codecs.items():
        for entry in getattr(codec, "shared_work", ()):
            group[root(spec)] = root(first.setdefault(entry, spec))
    return {spec: root(spec) for spec in codecs}


class GroupTimes:
    """The work groups of one run (:func:`work_groups`; none given: every codec in one group, never split) and the
    seconds each has taken per image so far."""

    def __init__(self, groups: dict[str, str] | None = None):
        self.groups = groups or {}
        self.seconds: dict[str, list[float]] = {}  # group → [encode and decode seconds, images]

    def of(self, spec: str) -> str:
        return self.groups.get(spec, "")

    def split(self, items: Sequence[Any], spec_of) -> list[list[Any]]:
        """`items` (one per codec and target) in one list per work group, in their order."""
        split: dict[str, list[Any]] = {}
        for item in items:
            split.setdefault(self.of(spec_of(item)), []).append(item)
        return list(split.values())

    def note(self, specs: Sequence[str], results: Sequence[dict[str, Any]]) -> None:
        """One image's results (one per spec in `specs`): what each group took, encode and decode."""
        spent: dict[str, float] = {}
        for spec, one in zip(specs, results, strict=True):
            group = self.of(spec)
            spent[group] = (
                spent.get(group, 0.0) + (one.get("encode_seconds") or 0.0) + (one.get("decode_seconds") or 0.0)
            )
        for group, seconds in spent.items():
            total = self.seconds.setdefault(group, [0.0, 0])
            total[0] += seconds
            total[1] += 1

    def expected(self, spec: str) -> float:
        """The group's mean seconds per image so far (0 before any image of it is in)."""
        seconds, images = self.seconds.get(self.of(spec), (0.0, 0))
        return seconds / images if images else 0.0
