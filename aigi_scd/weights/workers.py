"""Pools of CPU worker processes for the host side of `build` and `compress` (PNG encoding, hashing, CPU
filters, codecs, metrics on the CPU).

Workers start from a fork server (spawn where there is none): the server imports the light modules once,
and each worker forks from it, so a pool starts in a fraction of a second and never inherits the threads of
torch or of the accelerator's runtime. Each rank of a distributed run gets its share of the machine's cores.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def machine_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_workers() -> int:
    """One worker per core, shared among the ranks a launcher started on this machine."""
    try:
        local_ranks = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        local_ranks = 1
    return max(1, machine_cores() // local_ranks)


def process_pool(
    workers: int,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple = (),
    preload: tuple[str, ...] = (),
) -> ProcessPoolExecutor:
    """A pool of `workers` processes (fork server where the platform has one, which imports the modules named
    in `preload` once, when it starts: what every worker needs)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(preload))
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=initializer, initargs=initargs)
