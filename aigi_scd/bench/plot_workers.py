"""Rate–quality plots drawn by worker processes, so the end of a `compress` run uses every core: eight plots take
about half a second of one core each, and the main process would draw them one after another.

The workers start (and import matplotlib) when the benchmark files are first asked for, while the main process still
derives the tables; every plot then goes out as its own task while the main process writes the tables. A plot drawn
in a worker is the same PNG bytes as one drawn in the main process: the same figure code and matplotlib, on the Agg
canvas. Workers that cannot start, or die (killed for memory, say), cost only time: the main process draws what they
did not.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pandas as pd

from aigi_scd.bench.plots import rd_plot
from aigi_scd.weights.workers import let_go, process_pool


def warm() -> None:
    """Import what drawing needs (pyplot on the Agg canvas): done by each worker as soon as it starts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401


class PlotWorkers:
    """`workers` processes that draw rate–quality plots (none: the main process draws them); a context manager that
    stops them on leaving."""

    def __init__(self, workers: int):
        self.pool: ProcessPoolExecutor | None = None
        self.sent: list[Future] = []  # every task given to the pool
        if workers > 0:
            try:
                self.pool = process_pool(workers)  # a fork server started here preloads nothing: it starts at once
                for _ in range(workers):  # each worker imports matplotlib now, while the tables are derived
                    self.sent.append(self.pool.submit(warm))
            except (OSError, BrokenProcessPool):  # no processes to be had: the main process draws every plot
                self.close()

    def __enter__(self) -> PlotWorkers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.pool is not None:
            let_go(self.sent)  # the futures' locks a Ctrl-C in PlotJobs.finish left held here
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def start(
        self,
        summary: pd.DataFrame,
        metrics: Sequence[str],
        codec_order: Sequence[str] | None,
        sides: dict[str, float],
    ) -> PlotJobs:
        """Send out ``rd_<metric>.png`` of each of `metrics` to the workers; :meth:`PlotJobs.finish` gives the
        bytes."""
        args = (summary, codec_order, sides)
        futures: dict[str, Future] = {}
        if self.pool is not None:
            try:
                for metric in metrics:
                    futures[metric] = self.pool.submit(rd_plot, summary, metric, codec_order, sides)
                    self.sent.append(futures[metric])
            except BrokenProcessPool:  # a worker died: what it did not take is drawn here
                pass
        return PlotJobs(list(metrics), args, futures)


class PlotJobs:
    """Plots on their way: :meth:`finish` waits for them, and draws here any no worker could."""

    def __init__(self, metrics: list[str], args: tuple, futures: dict[str, Future]):
        self.metrics, self.args, self.futures = metrics, args, futures

    def finish(self) -> dict[str, bytes]:
        """Every plot's PNG bytes, in the order of the metrics."""
        return {m: self._result(m) for m in self.metrics}

    def _result(self, metric: str) -> bytes:
        if metric in self.futures:
            try:
                return self.futures[metric].result()
            except BrokenProcessPool:  # its worker died (killed for memory, say): drawn here instead
                pass
        summary, codec_order, sides = self.args
        return rd_plot(summary, metric, codec_order, sides)
