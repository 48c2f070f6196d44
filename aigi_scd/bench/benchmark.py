"""Write every file of ``OUT/benchmark/``, derived only from the per-unit stats files of `compress` whose units
still match their sources (others are left out and reported: :mod:`aigi_scd.bench.stale`).

``benchmark/results.parquet``  one row per image × codec × target (status ok / unreachable / error)
``benchmark/summary.csv|.md``  mean and 95% CI per source × codec × target (+ set-level FID/KID)
``benchmark/rd_<metric>.png``  rate–quality curves, one line per codec, one panel per set (AIGI and natural apart)
``benchmark/bd_rate.csv``      Bjøntegaard-delta rate of each codec against an anchor, per set and metric
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from aigi_scd.bench.bdrate import bd_rates
from aigi_scd.bench.plots import rd_plot
from aigi_scd.bench.results import ALL_AIGI, benchmark_dir, load_results, summarize
from aigi_scd.bench.set_scores import update_set_scores
from aigi_scd.bench.stale import current_sources, unit_issues
from aigi_scd.bench.tables import summary_markdown
from aigi_scd.dataset.files import ensure_dir, write_bytes_atomic


def smallest_sides(frame: pd.DataFrame) -> dict[str, float]:
    """Each set's smallest image side in pixels (and all-aigi's), for plots that explain a missing metric."""
    if frame.empty:
        return {}
    side = frame[["width", "height"]].min(axis=1)
    found = {str(k): float(v) for k, v in side.groupby(frame["source"]).min().items()}
    aigi = side[frame["source_kind"] == "aigi"]
    if len(aigi):
        found[ALL_AIGI] = float(aigi.min())
    return found


def write_benchmark(
    out: Path,
    anchor: str | None = None,
    codec_order: Sequence[str] | None = None,
    scorer=None,
    sources: dict[str, Any] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """(Re)write every benchmark file from the stats files; returns the frames and the paths written."""
    folder = benchmark_dir(out)
    ensure_dir(folder)
    current = current_sources(out, (sources or {}).values())
    left_out = unit_issues(out, current)
    frame, metrics = load_results(out, leave_out=left_out)
    set_scores = update_set_scores(out, frame, scorer, current.by_name, progress)
    summary = summarize(frame, metrics, set_scores)
    written = []

    write_bytes_atomic(folder / "results.parquet", frame.to_parquet(index=False))
    written.append(folder / "results.parquet")

    write_bytes_atomic(folder / "summary.csv", summary.to_csv(index=False).encode("utf-8"))
    write_bytes_atomic(folder / "summary.md", summary_markdown(summary, metrics, codec_order).encode("utf-8"))
    written += [folder / "summary.csv", folder / "summary.md"]

    plotted = [*metrics, *[c for c in ("fid", "kid") if c in summary.columns]] if not summary.empty else []
    sides = smallest_sides(frame)
    for metric in plotted:
        write_bytes_atomic(folder / f"rd_{metric}.png", rd_plot(summary, metric, codec_order, sides))
        written.append(folder / f"rd_{metric}.png")

    codecs = list(summary["codec"].unique()) if not summary.empty else []
    anchor = anchor or next((c for c in ("thumb-avif", *(codec_order or []), *codecs) if c in codecs), None)
    bd = bd_rates(summary, metrics, anchor) if anchor else bd_rates(summary.iloc[0:0], [], "")
    write_bytes_atomic(folder / "bd_rate.csv", bd.to_csv(index=False).encode("utf-8"))
    written.append(folder / "bd_rate.csv")
    return {
        "results": frame,
        "metrics": metrics,
        "summary": summary,
        "bd_rate": bd,
        "anchor": anchor,
        "codec_order": list(codec_order or []),
        "paths": written,
        "left_out": left_out,  # stats file → why its unit is not in the tables
        "unchecked": current.unknown,  # source → why its units could not be checked against it
    }
