"""Rate–quality plots (``rd_<metric>.png``), drawn from the benchmark summary only.

Each set gets two panels side by side: every codec's mean over the images it reached (the left; a point is
hollow where it reached only some, often the easy ones), and the means over the images *every* codec
reached at that target (the right: the same images for every line). Error bars are 95% intervals, drawn only
from at least :data:`~aigi_scd.bench.results.MIN_CI_IMAGES` images and cut at the metric's range, and the axes
stay within that range: one codec's interval over two images no longer flattens every other line.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd

from aigi_scd.bench.metrics import MIN_SIDE, metric_info, metric_label
from aigi_scd.bench.results import ALL_AIGI, KIND_LABEL, MIN_CI_IMAGES, metric_columns
from aigi_scd.bench.tables import codec_label, codec_order_of

# The note under every figure, in the two lines matplotlib's wrap=True broke it into at the figure's (fixed) width:
# wrapping measured the text again and again, a third of a plot's time. The report prints it as one line.
NOTE_LINES = (
    "Left: each codec's mean over the images it reached at the target; a hollow point means it reached only "
    "some of them, so its mean is over those alone. Right: means over the images",
    "every codec reached at that target. "
    f"Bars: 95% CI, from at least {MIN_CI_IMAGES} images, within the metric's range.",
)
PLOT_NOTE = " ".join(NOTE_LINES)
FIGURE_NOTE = "\n".join(NOTE_LINES)


def value_range(metric: str) -> tuple[float | None, float | None]:
    """The bounds no score of `metric` crosses, from pyiqa's score range: exact bounds, and approximate ones at 0
    or 1 (those of normalised scores; ``~40`` for psnr is only typical, so it is no bound)."""
    score_range = metric_info(metric).score_range
    if score_range is None:
        return None, None
    parts = [p.strip() for p in score_range.text.split(",")]
    bounds = []
    for part, value in zip(parts, (score_range.low, score_range.high), strict=True):
        exact = not part.startswith("~")
        bounds.append(value if value is not None and (exact or value in (0.0, 1.0)) else None)
    return bounds[0], bounds[1]


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
    """PNG of :func:`rd_figure`, at 110 dpi."""
    fig = rd_figure(summary, metric, codec_order, smallest_side)
    try:
        return figure_png(fig)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def figure_png(fig) -> bytes:
    """The figure drawn once on its Agg canvas and written as PNG by Pillow: what ``savefig(format="png")`` writes
    at the figure's dpi, without the second, discarded drawing savefig makes of a figure laid out by
    ``tight_layout`` (a third of a plot's time)."""
    from PIL import Image

    fig.canvas.draw()
    width, height = fig.canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (width, height), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _error_bars(means: np.ndarray, halves: np.ndarray, low: float | None, high: float | None) -> np.ndarray:
    """Asymmetric (below, above) bar lengths: the interval cut at the metric's bounds; none where it is NaN."""
    halves = np.nan_to_num(halves, nan=0.0)
    below = np.minimum(halves, means - low) if low is not None else halves
    above = np.minimum(halves, high - means) if high is not None else halves
    return np.vstack([np.maximum(below, 0.0), np.maximum(above, 0.0)])


def _draw(ax, rows: pd.DataFrame, x_col: str, y_col: str, ci_col: str | None, color, label, bounds, own: bool) -> None:
    """One codec's line; on its own images (`own`) a point where it reached only some is hollow."""
    rows = rows[np.isfinite(rows[y_col]) & np.isfinite(rows[x_col])].sort_values(x_col)
    if rows.empty:
        return
    means = rows[y_col].to_numpy(dtype=np.float64)
    yerr = _error_bars(means, rows[ci_col].to_numpy(dtype=np.float64), *bounds) if ci_col else None
    ax.errorbar(rows[x_col], means, yerr=yerr, color=color, label=label, capsize=2)
    if not own:
        ax.scatter(rows[x_col], means, color=color, zorder=3)
        return
    full = (rows["ok"] == rows["images"]).to_numpy()
    ax.scatter(rows.loc[full, x_col], means[full], color=color, zorder=3)
    ax.scatter(rows.loc[~full, x_col], means[~full], facecolors="white", edgecolors=color, zorder=3)


def _clamp(ax, bounds: tuple[float | None, float | None]) -> None:
    """Keep the y axis within the metric's range (matplotlib's margins would step past 0 or 1)."""
    low, high = ax.get_ylim()
    low = max(low, bounds[0]) if bounds[0] is not None else low
    high = min(high, bounds[1]) if bounds[1] is not None else high
    if high > low:
        ax.set_ylim(low, high)


def rd_figure(
    summary: pd.DataFrame,
    metric: str,
    codec_order: Sequence[str] | None = None,
    smallest_side: dict[str, float] | None = None,
):
    """The rate–quality curves of `metric` (a matplotlib figure): per set (AIGI first) a panel of each codec's own
    means and one of the means over the images every codec reached; one line per codec (oracles marked). A panel
    with no point says why on the figure (`smallest_side`: each set's smallest image side, for metrics with a
    minimum)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean_col, ci_col = metric_columns(metric)
    common_col, common_ci = metric_columns(metric, common=True)
    panels = list(summary[["source_kind", "source"]].drop_duplicates().itertuples(index=False, name=None))
    panels.sort(key=lambda p: (p[0] != "aigi", p[1] != ALL_AIGI, p[1]))
    fig, axes = plt.subplots(len(panels), 2, figsize=(9.6, 3.6 * len(panels) + 0.5), squeeze=False, dpi=110)
    codecs = codec_order_of(list(summary["codec"].unique()), codec_order)
    colors = {c: plt.get_cmap("tab10")(i % 10) for i, c in enumerate(codecs)}
    info, bounds = metric_info(metric), value_range(metric)
    for (own_ax, common_ax), (kind, source) in zip(axes, panels, strict=True):
        here = summary[(summary["source"] == source) & (summary["ok"] > 0)]
        for codec in codecs:
            sub = here[here["codec"] == codec]
            if sub.empty:
                continue
            label = codec_label(sub.iloc[0])
            _draw(own_ax, sub, "bpp_mean", mean_col, ci_col, colors[codec], label, bounds, own=True)
            if common_col in sub.columns and "bpp_common_mean" in sub.columns:
                shared = sub[sub["common_images"] > 0]
                _draw(
                    common_ax, shared, "bpp_common_mean", common_col, common_ci, colors[codec], label, bounds, own=False
                )
        if not own_ax.lines and not own_ax.collections:
            reason = empty_reason(summary, metric, source, (smallest_side or {}).get(source))
            own_ax.text(
                0.5, 0.5, reason, transform=own_ax.transAxes, ha="center", va="center", fontsize=10, color="#555"
            )
        counts = "none"
        if "common_images" in summary.columns:
            shared = summary.loc[summary["source"] == source, ["target_bpp", "common_images"]].drop_duplicates()
            counts = ", ".join(f"{int(n)} at {t:g}" for t, n in shared.itertuples(index=False, name=None))
        if not common_ax.lines and not common_ax.collections:
            if metric in ("fid", "kid"):
                reason = f"{metric} is set-level: one value\nper codec over its own images"
            elif "common_images" in summary.columns and (here["common_images"] > 0).any():
                reason = f"no {metric} value over the\nimages every codec reached"
            else:
                reason = "no image was reached by\nevery codec at any target"
            common_ax.text(0.5, 0.5, reason, transform=common_ax.transAxes, ha="center", va="center", color="#555")
        own_ax.set_title(f"{source} ({KIND_LABEL.get(kind, kind)}): each codec's images", fontsize=10)
        common_ax.set_title(f"{source}: images every codec reached\n({counts})", fontsize=9)
        for ax in (own_ax, common_ax):
            ax.set_xlabel("bits per pixel")
            ax.set_ylabel(f"{metric_label(metric)} {info.arrow}")
            ax.grid(alpha=0.3)
            if ax.lines:
                _clamp(ax, bounds)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
    fig.text(0.5, 0.005, FIGURE_NOTE, ha="center", va="bottom", fontsize=7, color="#444")
    fig.tight_layout(rect=(0, 0.5 / (3.6 * len(panels) + 0.5), 1, 1))
    return fig
