"""Rate–quality plots drawn by worker processes beside the main process, so the end of a `compress` run uses every
core: eight plots take about half a second of one core each, the tables and the report need only the main one.

The workers start (and import matplotlib) when the benchmark files are first asked for, while the main process still
derives the tables; every plot then goes out as its own task, and the main process draws, from the last one back,
those no worker has taken yet. A plot drawn in a worker is the same PNG bytes as one drawn in the main process: the
same figure code and matplotlib, on the Agg canvas.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

import pandas as pd

from aigi_scd.bench.plots import rd_plot
from aigi_scd.weights.workers import process_pool


def warm() -> None:
    """Import what drawing needs (pyplot on the Agg canvas): done by each worker as soon as it starts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401


class PlotWorkers:
    """`workers` processes that draw rate–quality plots (none: the main process draws them all); a context manager
    that stops them on leaving."""

    def __init__(self, workers: int):
        self.pool: ProcessPoolExecutor | None = None
        if workers > 0:
            self.pool = process_pool(workers)  # a fork server started here preloads nothing: it starts at once
            for _ in range(workers):  # each worker imports matplotlib now, while the tables are derived
                self.pool.submit(warm)

    def __enter__(self) -> PlotWorkers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def start(
        self,
        summary: pd.DataFrame,
        metrics: Sequence[str],
        codec_order: Sequence[str] | None,
        sides: dict[str, float],
    ) -> PlotJobs:
        """Send out ``rd_<metric>.png`` of each of `metrics` to the workers (from the first); :meth:`PlotJobs.finish`
        gives the bytes."""
        args = (summary, codec_order, sides)
        futures: dict[str, Future] = {}
        if self.pool is not None and len(metrics) > 1:
            futures = {m: self.pool.submit(rd_plot, summary, m, codec_order, sides) for m in metrics}
        return PlotJobs(list(metrics), args, futures)


class PlotJobs:
    """Plots on their way: :meth:`finish` draws here, from the last one back, each one no worker has started."""

    def __init__(self, metrics: list[str], args: tuple, futures: dict[str, Future]):
        self.metrics, self.args, self.futures = metrics, args, futures

    def _draw_here(self, metric: str) -> bytes:
        summary, codec_order, sides = self.args
        return rd_plot(summary, metric, codec_order, sides)

    def finish(self) -> dict[str, bytes]:
        """Every plot's PNG bytes, in the order of the metrics."""
        drawn: dict[str, bytes] = {}
        for metric in reversed(self.metrics):
            if metric in self.futures and not self.futures[metric].cancel():
                break  # a worker has it: so has it every earlier one
            drawn[metric] = self._draw_here(metric)
        return {m: drawn[m] if m in drawn else self.futures[m].result() for m in self.metrics}
