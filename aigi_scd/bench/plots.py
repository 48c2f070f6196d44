"""Rate–quality plots (``rd_<metric>.png``), drawn from the benchmark summary only."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from aigi_scd.bench.metrics import MIN_SIDE, metric_info, metric_label
from aigi_scd.bench.results import ALL_AIGI, KIND_LABEL, metric_columns
from aigi_scd.bench.tables import codec_order_of


def empty_reason(summary: pd.DataFrame, metric: str, source: str, smallest_side: float | None) -> str:
    """Why a panel has no point: the images are too small for the metric, no codec reached a target, or the metric
    gave no value."""
    sub = summary[summary["source"] == source]
    need = MIN_SIDE.get(metric)
    if need and smallest_side is not None and smallest_side < need:
        return (
            f"no {metric} values: {metric} needs images\nof at least {need} px a side;\n"
            f"the smallest side here is {smallest_side:g} px"
        )
    if not (sub["ok"] > 0).any():
        return "no codec reached\nany target on this set"
    return f"no {metric} value for any\nreconstruction of this set"


def rd_plot(
    summary: pd.DataFrame,
    metric: str,
    codec_order: Sequence[str] | None = None,
    smallest_side: dict[str, float] | None = None,
) -> bytes:
    """PNG of :func:`rd_figure`."""
    fig = rd_figure(summary, metric, codec_order, smallest_side)
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def rd_figure(
    summary: pd.DataFrame,
    metric: str,
    codec_order: Sequence[str] | None = None,
    smallest_side: dict[str, float] | None = None,
):
    """The rate–quality curves of `metric` (a matplotlib figure): one panel per set (AIGI first), one line per codec.

    Points where a codec reached only some images are drawn hollow (their mean is over fewer images). A panel with
    no point says why on the figure (`smallest_side`: each set's smallest image side, for metrics with a minimum)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean_col, ci_col = metric_columns(metric)
    panels = list(summary[["source_kind", "source"]].drop_duplicates().itertuples(index=False, name=None))
    panels.sort(key=lambda p: (p[0] != "aigi", p[1] != ALL_AIGI, p[1]))
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False)
    codecs = codec_order_of(list(summary["codec"].unique()), codec_order)
    colors = {c: plt.get_cmap("tab10")(i % 10) for i, c in enumerate(codecs)}
    info = metric_info(metric)
    for ax, (kind, source) in zip(axes.flat, panels, strict=False):
        for codec in codecs:
            sub = summary[(summary["source"] == source) & (summary["codec"] == codec) & (summary["ok"] > 0)]
            sub = sub[np.isfinite(sub[mean_col])].sort_values("bpp_mean")
            if sub.empty:
                continue
            yerr = sub[ci_col].fillna(0).to_numpy() if ci_col else None
            ax.errorbar(sub["bpp_mean"], sub[mean_col], yerr=yerr, color=colors[codec], label=codec, capsize=2)
            full = sub["ok"] == sub["images"]
            ax.scatter(sub.loc[full, "bpp_mean"], sub.loc[full, mean_col], color=colors[codec], zorder=3)
            ax.scatter(
                sub.loc[~full, "bpp_mean"], sub.loc[~full, mean_col], facecolors="white", edgecolors=colors[codec]
            )
        if not ax.lines and not ax.collections:
            reason = empty_reason(summary, metric, source, (smallest_side or {}).get(source))
            ax.text(0.5, 0.5, reason, transform=ax.transAxes, ha="center", va="center", fontsize=10, color="#555")
        ax.set_title(f"{source} ({KIND_LABEL.get(kind, kind)})")
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(f"{metric_label(metric)} {info.arrow}")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig
