"""Write every file of ``OUT/benchmark/``, derived only from the per-unit stats files of `compress` whose units
still match their sources (others are left out and reported: :mod:`aigi_scd.bench.stale`).

``benchmark/results.parquet``  one row per image × codec × target (status ok / unreachable / error)
``benchmark/summary.csv|.md``  mean and 95% CI per source × codec × target (+ set-level FID/KID)
``benchmark/rd_<metric>.png``  rate–quality curves, one line per codec, one panel per set (AIGI and natural apart)
``benchmark/bd_rate.csv``      Bjøntegaard-delta rate of each codec against an anchor, per set and metric
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from aigi_scd.bench.bdrate import bd_rates
from aigi_scd.bench.plot_workers import PlotWorkers
from aigi_scd.bench.results import ALL_AIGI, benchmark_dir, load_results, summarize
from aigi_scd.bench.set_scores import update_set_scores
from aigi_scd.bench.stale import COMPRESS_MANIFEST, current_sources, unit_issues
from aigi_scd.bench.tables import summary_markdown
from aigi_scd.dataset.files import ensure_dir, read_json, write_bytes_atomic


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


def recorded_order(out: Path) -> dict[str, Any]:
    """The codec order and anchor of the last `compress` run (``compress.json``), so tables keep their order."""
    path = Path(out) / COMPRESS_MANIFEST
    try:
        manifest = read_json(path) if path.is_file() else {}
    except (OSError, ValueError):
        manifest = {}
    manifest = manifest if isinstance(manifest, dict) else {}
    return {"codec_order": manifest.get("codecs"), "anchor": manifest.get("anchor")}


def derive_benchmark(
    out: Path,
    anchor: str | None = None,
    codec_order: Sequence[str] | None = None,
    scorer=None,
    sources: dict[str, Any] | None = None,
    progress: bool = True,
    leave_out: Iterable[Path] = (),
) -> dict[str, Any]:
    """Every table of ``OUT/benchmark`` as the units on disk give it, written nowhere (set-level scores: computed
    with `scorer`, else taken from their cache where current). `leave_out` adds stats files to those
    :func:`aigi_scd.bench.stale.unit_issues` leaves out (units a verify found damaged)."""
    current = current_sources(out, (sources or {}).values())
    left_out = unit_issues(out, current)
    frame, metrics = load_results(out, leave_out=[*left_out, *leave_out])
    set_scores = update_set_scores(out, frame, scorer, current.by_name, progress)
    summary = summarize(frame, metrics, set_scores)
    codecs = list(summary["codec"].unique()) if not summary.empty else []
    anchor = anchor or next((c for c in ("thumb-avif", *(codec_order or []), *codecs) if c in codecs), None)
    bd = bd_rates(summary, metrics, anchor) if anchor else bd_rates(summary.iloc[0:0], [], "")
    return {
        "results": frame,
        "metrics": metrics,
        "summary": summary,
        "bd_rate": bd,
        "anchor": anchor,
        "codec_order": list(codec_order or []),
        "tables": {  # the text files, as written
            "summary.csv": summary.to_csv(index=False).encode("utf-8"),
            "summary.md": summary_markdown(summary, metrics, codec_order).encode("utf-8"),
            "bd_rate.csv": bd.to_csv(index=False).encode("utf-8"),
        },
        "left_out": left_out,  # stats file → why its unit is not in the tables
        "unchecked": current.unknown,  # source → why its units could not be checked against it
    }


def write_benchmark(
    out: Path,
    anchor: str | None = None,
    codec_order: Sequence[str] | None = None,
    scorer=None,
    sources: dict[str, Any] | None = None,
    progress: bool = True,
    plot_workers: int = 0,
) -> dict[str, Any]:
    """(Re)write every benchmark file from the stats files; returns the frames and the paths written. With
    `plot_workers`, that many processes draw the RD plots beside this one (:mod:`aigi_scd.bench.plot_workers`)."""
    folder = benchmark_dir(out)
    ensure_dir(folder)
    with PlotWorkers(plot_workers) as plotters:
        bench = derive_benchmark(out, anchor, codec_order, scorer, sources, progress)
        return _write_files(folder, bench, codec_order, plotters)


def _write_files(
    folder: Path, bench: dict[str, Any], codec_order: Sequence[str] | None, plotters: PlotWorkers
) -> dict[str, Any]:
    frame, summary, metrics = bench["results"], bench["summary"], bench["metrics"]
    plotted = [*metrics, *[c for c in ("fid", "kid") if c in summary.columns]] if not summary.empty else []
    plots = plotters.start(summary, plotted, codec_order, smallest_sides(frame))  # drawn while the tables are written

    written = [folder / "results.parquet"]
    write_bytes_atomic(folder / "results.parquet", frame.to_parquet(index=False))
    for name in ("summary.csv", "summary.md"):
        write_bytes_atomic(folder / name, bench["tables"][name])
        written.append(folder / name)
    for metric, png in plots.finish().items():
        write_bytes_atomic(folder / f"rd_{metric}.png", png)
        written.append(folder / f"rd_{metric}.png")
    write_bytes_atomic(folder / "bd_rate.csv", bench["tables"]["bd_rate.csv"])
    written.append(folder / "bd_rate.csv")
    return {**bench, "paths": written}
