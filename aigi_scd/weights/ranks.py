"""Which process this is among several, through accelerate's process state, and waiting for the others.

Under a launcher (``accelerate launch --multi_gpu``, ``torchrun --nproc_per_node N``, MPI) every process is a
rank of one run: `build` and `compress` deal their work units out by rank, each rank uses its own device,
and rank 0 writes what must be written once (the manifest first, the card and tables last). Without a
launcher this is one process of one rank and nothing is initialised. Ranks meet through accelerate's process
group at the start (one barrier, one broadcast) and through the shared output folder after that: a rank
waits for another's files, never for a collective, so a long build cannot hit the process group's timeout.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
LAUNCHER_SIZE_VARIABLES = ("WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")
POLL_SECONDS = 0.2


def launched_ranks() -> int:
    """How many processes the launcher started (1 without one)."""
    for name in LAUNCHER_SIZE_VARIABLES:
        try:
            value = int(os.environ.get(name, ""))
        except ValueError:
            continue
        if value > 0:
            return value
    return 1


@dataclass
class Ranks:
    """This process's place among the run's processes."""

    index: int = 0
    count: int = 1
    local_index: int = 0
    _state: Any = None

    @property
    def is_main(self) -> bool:
        return self.index == 0

    @property
    def distributed(self) -> bool:
        return self.count > 1

    def barrier(self) -> None:
        if self._state is not None:
            self._state.wait_for_everyone()

    def broadcast(self, value: T) -> T:
        """Rank 0's `value`, on every rank."""
        if self._state is None:
            return value
        from accelerate.utils import broadcast_object_list

        box = [value if self.is_main else None]
        broadcast_object_list(box, from_process=0)
        return box[0]

    def deal(self, work: Sequence[T]) -> list[T]:
        """This rank's share of `work` (the same list on every rank): every count-th item from its index, so
        ranks interleave through the work in order and finish it at about the same time."""
        return list(work[self.index :: self.count])

    def device(self, device: str) -> str:
        """The device of this rank: a CUDA device without an index becomes this rank's local GPU."""
        if self.distributed and device == "cuda":
            return f"cuda:{self.local_index}"
        return device

    def prefix(self) -> str:
        return f"[rank {self.index}/{self.count}] " if self.distributed else ""


def current_ranks(cpu: bool) -> Ranks:
    """The run's ranks: accelerate's PartialState under a launcher (`cpu`: a CPU process group, gloo, as
    ``torchrun`` on CPUs needs), else one rank."""
    if launched_ranks() <= 1:
        return Ranks()
    from accelerate import PartialState

    state = PartialState(cpu=cpu)
    return Ranks(state.process_index, state.num_processes, state.local_process_index, state)


def wait_until(ready: Callable[[], bool], what: str, on_wait: Callable[[str], None] | None = None) -> None:
    """Poll `ready` until it holds (another rank's file appears). Says once what it waits for after 30 s; a
    rank that died takes the others down through the launcher, so there is no timeout here."""
    started = time.monotonic()
    said = False
    while not ready():
        if not said and on_wait is not None and time.monotonic() - started > 30:
            on_wait(f"waiting for {what}")
            said = True
        time.sleep(POLL_SECONDS)
