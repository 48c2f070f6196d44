"""The CPU side of one generated image, done in a worker process while the accelerator makes the next batch:
its PNG, the PNG's sha256, the filters that run on the CPU and the shard steps' features.

Kept light (no torch, diffusers or model import unless a CPU filter needs one) so workers start fast. Each
worker builds its copy of the build's filter chain once, from the chain's settings; an image's results depend
only on the image, never on which worker took it or when, so the shards do not depend on the workers.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aigi_scd.dataset.png import encode_png
from aigi_scd.dataset.sample import sha256
from aigi_scd.filters.base import Candidate, FilterResult, run_chain
from aigi_scd.filters.chain import FilterChain, chain_from_settings
from aigi_scd.prompts.spec import PromptSpec


@dataclass
class HostPlan:
    """What the workers do: the first `filters` per-image filters of the chain, and the shard steps' features
    when `features` (every per-image filter runs in the workers). `imports`: the modules making the chain
    imports, for the pool's fork server to import once (see :func:`preload`)."""

    chain_name: str
    steps: list[dict[str, Any]]
    filters: int
    features: bool
    imports: tuple[str, ...] = ()

    @classmethod
    def for_chain(cls, chain: FilterChain, device: str) -> HostPlan:
        count = chain.host_filters(device)
        return cls(chain.name, chain.settings(), count, count == len(chain.filters), chain.imports())

    def preload(self) -> tuple[str, ...]:
        """What the pool's fork server imports before it forks workers: this module and what the chain needs.
        Each worker then starts in a fraction of a second instead of importing pyiqa and torch itself (~5 s on
        two cores), and a later pool in the same process forks from the same warm server."""
        return (__name__, *self.imports)


@dataclass
class HostResult:
    """A worker's answer for one image."""

    png: bytes | None
    digest: str | None
    results: list[FilterResult] = field(default_factory=list)
    features: dict[str, Any] = field(default_factory=dict)


class HostWork:
    """The work for one image, with its own copy of the chain (models of CPU filters load on first use)."""

    def __init__(self, plan: HostPlan):
        self.plan = plan
        self.chain = chain_from_settings(plan.chain_name, plan.steps)

    def __call__(
        self, key: str, pixels: np.ndarray | None, problem: str | None, prompt: PromptSpec | None
    ) -> HostResult:
        png = encode_png(pixels) if pixels is not None else None
        candidate = Candidate(key, png, pixels, prompt, problem)
        run_chain(self.chain.filters[: self.plan.filters], [candidate])
        if self.plan.features and candidate.rejected_by is None:
            for step in self.chain.steps:
                step.features([candidate])
        return HostResult(png, sha256(png) if png is not None else None, candidate.results, candidate.features)


_WORK: HostWork | None = None  # this worker process's


def start_worker(plan: HostPlan) -> None:
    """Pool initializer: one thread per worker (the pool is the parallelism) and this worker's chain."""
    global _WORK
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["MKL_NUM_THREADS"] = "1"
    _WORK = HostWork(plan)
    torch = sys.modules.get("torch")  # imported by the parent before forking; else OMP_NUM_THREADS holds
    if torch is not None:
        torch.set_num_threads(1)


def process_image(key: str, pixels: np.ndarray | None, problem: str | None, prompt: PromptSpec | None) -> HostResult:
    """PNG, sha256 and the CPU filters of one image, in a worker started by :func:`start_worker`."""
    if _WORK is None:
        raise RuntimeError("host worker used before start_worker")
    return _WORK(key, pixels, problem, prompt)
