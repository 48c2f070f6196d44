"""Comparisons over the same images (issue 21 acceptance 5): one codec reaches a target on 2 of 12 images. The
summary gives, beside each codec's own mean, the means over the images every codec reached; no interval comes
from two images; the RD plot draws both and its axes, like the means, stay within each metric's range."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from PIL import Image
from test_stale_originals import picture

from aigi_scd.bench.plots import rd_figure, value_range
from aigi_scd.bench.results import MIN_CI_IMAGES

METRICS = ["psnr", "ssim", "gmsd"]


@pytest.fixture(scope="module")
def two_of_twelve(tmp_path_factory) -> Path:
    """Ten 48-pixel images, too small for jpeg's headers at 0.6 bpp, and two 256-pixel ones it reaches: one smooth,
    one noise (the two far apart, so an interval over them would be very wide)."""
    root = tmp_path_factory.mktemp("common")
    images, out = root / "images", root / "out"
    images.mkdir()
    for n in range(10):
        picture(n, 48).save(images / f"small{n:02d}.png")
    picture(20, 256).save(images / "large0.png")
    noise = np.random.default_rng(1).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    Image.fromarray(noise).save(images / "large1.png")
    run_cli(
        "compress",
        "--images",
        images,
        "--out",
        out,
        "--codecs",
        "misc-offline,jpeg",
        "--bpp",
        "0.6,4",
        "--metrics",
        ",".join(METRICS),
        "--workers",
        "0",
        "--quiet",
    )
    return out


def test_the_summary_compares_codecs_over_the_images_all_of_them_reached(two_of_twelve):
    frame = pd.read_parquet(two_of_twelve / "benchmark" / "results.parquet")
    summary = pd.read_csv(two_of_twelve / "benchmark" / "summary.csv").set_index(["codec", "target_bpp"])
    assert summary.loc[("jpeg", 0.6), "ok"] == 2 and summary.loc[("misc-offline", 0.6), "ok"] == 12
    assert (summary.xs(0.6, level="target_bpp")["common_images"] == 2).all()
    assert (summary.xs(4.0, level="target_bpp")["common_images"] == 12).all()
    reached = set(frame[(frame["codec"] == "jpeg") & (frame["target_bpp"] == 0.6) & (frame["status"] == "ok")]["key"])
    assert reached == {"images-large0", "images-large1"}
    misc = frame[(frame["codec"] == "misc-offline") & (frame["target_bpp"] == 0.6)].set_index("key")
    for metric in METRICS:
        row = summary.loc[("misc-offline", 0.6)]
        assert row[f"{metric}_common_mean"] == pytest.approx(misc.loc[sorted(reached), metric].mean(), rel=1e-12)
        assert row[f"{metric}_common_mean"] != pytest.approx(row[f"{metric}_mean"], rel=1e-3)  # it matters here
        low, high = value_range(metric)
        for _, values in summary.iterrows():
            for column in (f"{metric}_mean", f"{metric}_common_mean"):
                assert (low is None or values[column] >= low) and (high is None or values[column] <= high)
        # two images give no interval, a dozen do
        assert math.isnan(summary.loc[("jpeg", 0.6), f"{metric}_ci95"]) and 2 < MIN_CI_IMAGES <= 12
        assert math.isnan(summary.loc[("misc-offline", 0.6), f"{metric}_common_ci95"])
        assert summary.loc[("jpeg", 4.0), f"{metric}_ci95"] > 0
    text = (two_of_twelve / "benchmark" / "summary.md").read_text()
    assert "## images (natural): over the images every codec reached" in text
    assert "| jpeg | 0.6 | 2 of 12 |" in text and "| misc-offline | 0.6 | 2 of 12 |" in text


@pytest.mark.parametrize("metric", METRICS)
def test_the_rd_plot_keeps_its_axes_within_the_metric_range(two_of_twelve, metric):
    summary = pd.read_csv(two_of_twelve / "benchmark" / "summary.csv")
    fig = rd_figure(summary, metric)
    try:
        own, common = fig.axes[:2]
        low, high = value_range(metric)
        assert low == 0.0 and (high == 1.0 if metric != "psnr" else high is None)
        for ax in (own, common):
            bottom, top = ax.get_ylim()
            assert bottom >= low and (high is None or top <= high), (metric, ax.get_title(), bottom, top)
            assert {t.get_text() for t in ax.get_legend().get_texts()} == {"misc-offline", "jpeg"}
        assert "images every codec reached\n(2 at 0.6, 12 at 4)" in common.get_title()
        # the hollow point: jpeg at 0.6 reached 2 of 12 images, and the figure says what that means
        assert any("hollow point" in t.get_text() for t in fig.texts)
    finally:
        plt.close(fig)
    assert (two_of_twelve / "benchmark" / f"rd_{metric}.png").read_bytes()[:4] == b"\x89PNG"


def test_a_mean_over_fewer_scored_images_than_reached_says_how_many(two_of_twelve):
    """NaN or inf scores are stored as None; the summary averages the rest and shows n where it is below `ok`."""
    from aigi_scd.bench.results import load_results, summarize
    from aigi_scd.bench.tables import summary_markdown

    frame, metrics = load_results(two_of_twelve)
    rows = frame.index[(frame["codec"] == "misc-offline") & (frame["target_bpp"] == 4.0)][:3]
    frame.loc[rows, "psnr"] = np.nan  # three images the metric could not score
    summary = summarize(frame, metrics).set_index(["codec", "target_bpp"])
    row = summary.loc[("misc-offline", 4.0)]
    assert (row["ok"], row["psnr_n"], row["ssim_n"]) == (12, 9, 12)
    kept = frame.loc[(frame["codec"] == "misc-offline") & (frame["target_bpp"] == 4.0), "psnr"].dropna()
    assert row["psnr_mean"] == pytest.approx(kept.mean(), rel=1e-12) and len(kept) == 9
    text = summary_markdown(summary.reset_index(), metrics).splitlines()
    header = next(line for line in text if line.startswith("| codec | target bpp | bpp |")).split(" | ")
    line = next(line for line in text if line.startswith("| misc-offline | 4 | ") and "12/12" in line).split(" | ")
    psnr, ssim = line[header.index("psnr ↑")], line[header.index("ssim (Y) ↑")]  # ssim scores luma (pyiqa)
    assert psnr.endswith(" (n=9)") and "(n=" not in ssim


def test_plots_drawn_by_worker_processes_are_the_ones_drawn_here(two_of_twelve):
    """compress draws its RD plots in worker processes: the same files as drawn in one process."""
    from aigi_scd.bench.benchmark import derive_benchmark, smallest_sides, write_benchmark
    from aigi_scd.bench.plot_workers import PlotWorkers

    folder = two_of_twelve / "benchmark"
    write_benchmark(two_of_twelve, plot_workers=0)
    alone = {m: (folder / f"rd_{m}.png").read_bytes() for m in METRICS}
    bench = derive_benchmark(two_of_twelve)
    with PlotWorkers(2) as plotters:
        jobs = plotters.start(bench["summary"], METRICS, None, smallest_sides(bench["results"]))
        assert jobs.finish() == alone
    assert sorted(jobs.futures) == sorted(METRICS) and all(f.exception() is None for f in jobs.futures.values())
    written = write_benchmark(two_of_twelve, plot_workers=2)
    assert {m: (folder / f"rd_{m}.png").read_bytes() for m in METRICS} == alone
    assert [p.name for p in written["paths"] if p.suffix == ".png"] == [f"rd_{m}.png" for m in METRICS]


def test_plots_are_drawn_here_when_the_plot_workers_die(two_of_twelve):
    """A plot worker killed (for memory, say) costs time, not the tables: the main process draws what it did not,
    whether the worker died with a plot in hand or before the plots went out."""
    import multiprocessing
    import os
    import signal
    import time
    from concurrent.futures.process import BrokenProcessPool

    from aigi_scd.bench.benchmark import derive_benchmark, smallest_sides
    from aigi_scd.bench.plot_workers import PlotWorkers
    from aigi_scd.bench.plots import rd_plot

    bench = derive_benchmark(two_of_twelve)
    summary, sides = bench["summary"], smallest_sides(bench["results"])
    alone = {m: rd_plot(summary, m, None, sides) for m in METRICS}
    with PlotWorkers(1) as plotters:  # killed with a plot in hand
        jobs = plotters.start(summary, METRICS, None, sides)
        deadline = time.monotonic() + 60
        while not jobs.futures[METRICS[0]].running():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        for worker in multiprocessing.active_children():
            os.kill(worker.pid, signal.SIGKILL)
        assert jobs.finish() == alone
        with pytest.raises(BrokenProcessPool):
            jobs.futures[METRICS[0]].result()
    with PlotWorkers(1) as plotters:  # dead before the plots go out
        with pytest.raises(BrokenProcessPool):
            plotters.pool.submit(os._exit, 1).result()
        assert plotters.start(summary, METRICS, None, sides).finish() == alone
