"""A filter chain: per-image filters, then per-shard steps, with the state that spans shards.

How a shard goes through it (see :mod:`aigi_scd.filters.shard`): each generated batch is
:meth:`FilterChain.score`-d (filters in order, each seeing only the images every earlier one
passed; shard steps compute their features while the pixels are at hand); when the shard is
complete, :meth:`FilterChain.decide` runs the shard steps over its survivors in plan order, and
:meth:`FilterChain.remember` hands the finally kept images to the steps that carry state (dedup).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aigi_scd.filters.alignment import ClipScore
from aigi_scd.filters.base import Candidate, run_chain, settings
from aigi_scd.filters.best_of import BestOfN
from aigi_scd.filters.dedup import Dedup
from aigi_scd.filters.iqa import IqaFilter
from aigi_scd.filters.technical import (
    Colourfulness,
    Decodable,
    Entropy,
    Exposure,
    MinSize,
    NotBlack,
    NotBlank,
    NotNoise,
    Sharpness,
)
from aigi_scd.filters.texture import Detail, NoiseLevel

IMAGE_FILTERS = (
    Decodable,
    Entropy,
    MinSize,
    NotBlack,
    NotBlank,
    Exposure,
    NotNoise,
    Sharpness,
    Colourfulness,
    Detail,
    NoiseLevel,
    IqaFilter,
    ClipScore,
)
SHARD_STEPS = (Dedup, BestOfN)
STEP_TYPES: dict[str, type] = {cls.kind: cls for cls in (*IMAGE_FILTERS, *SHARD_STEPS)}


def chain_from_settings(name: str, steps: list[dict[str, Any]]) -> FilterChain:
    """A fresh chain (no loaded models, no state) from :meth:`FilterChain.settings`: how worker processes get
    their copy of a build's chain."""
    built = [STEP_TYPES[s["type"]](**{k: v for k, v in s.items() if k != "type"}) for s in steps]
    return FilterChain.from_steps(name, built)


def is_shard_step(step: Any) -> bool:
    return hasattr(step, "decide")


@dataclass
class FilterChain:
    """An ordered chain of filters (per image) followed by shard steps (dedup, best-of-N)."""

    name: str
    filters: list[Any]
    steps: list[Any] = field(default_factory=list)
    description: str = ""
    source: str | None = None

    def __post_init__(self) -> None:
        names = [s.name for s in self.all]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"two filters are named {name!r}; give one of them another `name:`")
        scored = {f.name: f for f in self.filters}
        for step in self.steps:
            if isinstance(step, BestOfN):
                if step.by not in scored:
                    raise ValueError(
                        f"best_of_n: by: {step.by!r} is not a filter of this chain; it must name one of: "
                        f"{', '.join(scored)}"
                    )
                step.by_higher_is_better = bool(getattr(scored[step.by], "higher_is_better", True))

    @classmethod
    def from_steps(cls, name: str, steps: list[Any], description: str = "", source: str | None = None) -> FilterChain:
        """Split `steps` into filters and shard steps, refusing a filter after a shard step."""
        filters, shard_steps = [], []
        for step in steps:
            if is_shard_step(step):
                shard_steps.append(step)
            elif shard_steps:
                raise ValueError(
                    f"{step.name!r} judges images one by one, so it must come before {shard_steps[0].name!r}, "
                    "which judges a whole shard together"
                )
            else:
                filters.append(step)
        return cls(name, filters, shard_steps, description, source)

    @property
    def all(self) -> list[Any]:
        return [*self.filters, *self.steps]

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.all]

    def identity(self) -> dict[str, Any]:
        """What makes two chains keep the same images: the preset name and every step's settings."""
        return {"preset": self.name, "steps": [settings(s) for s in self.all]}

    def prepare(self, device: str) -> None:
        """Load every model the chain needs onto `device` before any image is made (fail early)."""
        for step in self.all:
            prepare = getattr(step, "prepare", None)
            if prepare is not None:
                prepare(device)

    def reset(self) -> None:
        for step in self.steps:
            step.reset()

    def score(self, candidates: list[Candidate], first: int = 0, features: bool = True) -> None:
        """Per-image filters on one batch; shard steps take their features from the survivors.

        `first` skips the filters already run (by a host worker: :meth:`host_filters`); `features` False when
        the worker also computed the shard steps' features."""
        run_chain(self.filters[first:], candidates)
        alive = [c for c in candidates if c.rejected_by is None]
        if alive and features:
            for step in self.steps:
                step.features(alive)

    def imports(self) -> tuple[str, ...]:
        """The modules the chain's steps import when they are made (a step's ``imports``), in order, once."""
        found: dict[str, None] = {}
        for step in self.all:
            found.update(dict.fromkeys(getattr(step, "imports", ())))
        return tuple(found)

    def host_filters(self, device: str) -> int:
        """How many leading per-image filters may run in CPU worker processes, one image at a time: the
        weight-free ones always; those with models (``prepare``) only when the build's device is the CPU (on an
        accelerator they run there, batched). The rest of the chain runs in the main process, in order."""
        count = 0
        for step in self.filters:
            if hasattr(step, "prepare") and not device.startswith("cpu"):
                break
            count += 1
        return count

    def settings(self) -> list[dict[str, Any]]:
        """Every step's settings (picklable plain data): what :func:`chain_from_settings` rebuilds it from."""
        return [settings(s) for s in self.all]

    def decide(self, candidates: list[Candidate]) -> None:
        """Shard steps over a whole shard's candidates (in plan order); appends their results."""
        alive = [c for c in candidates if c.rejected_by is None]
        for step in self.steps:
            if not alive:
                break
            for c, result in zip(alive, step.decide(alive), strict=True):
                c.results.append(result)
            alive = [c for c in alive if c.rejected_by is None]

    def remember(self, kept: list[Candidate]) -> dict[str, Any]:
        """Carry a finished shard's kept images into later shards; returns the state its stats file records."""
        state = {}
        for step in self.steps:
            value = step.shard_state(kept)
            step.remember(kept)
            if value is not None:
                state[step.name] = value
        return state

    def restore(self, state: dict[str, Any] | None, load_kept: Callable[[], list[Candidate]]) -> None:
        """Carry a shard finished earlier into later shards, from its recorded state (or, where that is
        missing, from its kept images, which `load_kept` decodes)."""
        state = state or {}
        kept = None
        for step in self.steps:
            if not getattr(step, "stateful", False):
                continue
            if step.name in state:
                step.restore(state[step.name])
            else:
                kept = load_kept() if kept is None else kept
                step.features(kept)
                step.remember(kept)
