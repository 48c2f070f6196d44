"""Pools of CPU worker processes for the host side of `build` and `compress` (PNG encoding, hashing, CPU
filters, codecs, metrics on the CPU).

Workers start from a fork server (spawn where there is none): the server imports the light modules once,
and each worker forks from it, so a pool starts in a fraction of a second and never inherits the threads of
torch or of the accelerator's runtime. Each rank of a distributed run gets its share of the machine's cores.
A worker ends when the process that started the pool ends, even by SIGKILL (a killed rank, an out-of-memory
kill): it would otherwise wait forever on its task queue, holding memory and the launcher's output pipe. Workers
ignore Ctrl-C: it reaches the whole process group, and the main process alone handles it (it stops the work,
keeps what is finished and says how to resume), so workers print no traceback.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
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


def _end_with_parent() -> None:
    """Exit this worker as soon as the process that started its pool is gone (its sentinel closes)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="aigi-scd parent watch", daemon=True).start()


def _start(initializer: Callable[..., Any] | None, *initargs: Any) -> None:
    import aigi_scd.weights.quiet_start  # noqa: F401  (spawned workers: no fork server imported it)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent()
    if initializer is not None:
        initializer(*initargs)


def process_pool(
    workers: int,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple = (),
    preload: tuple[str, ...] = (),
) -> ProcessPoolExecutor:
    """A pool of `workers` processes (fork server where the platform has one, which imports the modules named
    in `preload` once, when it starts: what every worker needs). What those imports print is dropped
    (:mod:`aigi_scd.weights.quiet_start` comes first), and what they made is frozen out of the garbage collector's
    reach (:mod:`aigi_scd.weights.freeze_imports` comes last)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["aigi_scd.weights.quiet_start", *preload, "aigi_scd.weights.freeze_imports"])
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start, initargs=(initializer, *initargs))


def let_go(futures: Iterable[Future]) -> int:
    """Release the locks of `futures` that this thread still holds after an interrupt; returns how many it released.

    A Ctrl-C can land inside concurrent.futures' own lock handling: between ``wait``'s releasing of one future's
    lock and the next's, or after ``with future._condition`` took a lock and before the ``with`` was set up to
    release it (CPython issue 74174: a ``with`` is not atomic against signals before Python 3.15). The pool's
    shutdown then waits forever for its manager thread, which needs that lock to cancel the future. Found by raising
    KeyboardInterrupt at 395 points of a compress run (every 3.5% of its Python trace events after the first unit is
    written): one of them hung there."""
    released = 0
    for future in futures:
        condition = future._condition
        while condition._is_owned():
            condition.release()
            released += 1
    return released


def in_daemon_thread(function: Callable[..., Any], *args: Any, name: str = "helper") -> Future:
    """`function(*args)` run in a new daemon thread of this process, its result (or error) in the Future returned: work
    beside a pool's start that an interrupted command does not wait for (its result is lost with the rest in flight)."""
    future: Future = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(function(*args))
        except BaseException as exc:  # raised where the result is taken
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future
