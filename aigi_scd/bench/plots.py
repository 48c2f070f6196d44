"""Rate–quality plots (``rd_<metric>.png``), drawn from the benchmark summary only."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from aigi_scd.bench.metrics import metric_info
from aigi_scd.bench.results import ALL_AIGI, KIND_LABEL, metric_columns
from aigi_scd.bench.tables import codec_order_of


def rd_plot(summary: pd.DataFrame, metric: str, codec_order: Sequence[str] | None = None) -> bytes:
    """PNG of the rate–quality curves of `metric`: one panel per set (AIGI first), one line per codec.

    Points where a codec reached only some images are drawn hollow (their mean is over fewer images)."""
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
        ax.set_title(f"{source} ({KIND_LABEL.get(kind, kind)})")
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(f"{metric} {info.arrow}")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()
