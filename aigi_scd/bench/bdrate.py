"""Bjøntegaard-delta rates (``bd_rate.csv``) of every codec against an anchor, from the benchmark summary."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from aigi_scd.bench.metrics import metric_info
from aigi_scd.bench.results import metric_columns


def bd_rates(summary: pd.DataFrame, metrics: list[str], anchor: str) -> pd.DataFrame:
    """BD-rate (%) of every codec against `anchor` per set and metric, over the targets where each codec reached
    every image (negative: fewer bits for the same quality). Lower-is-better metrics are negated first. `oracle`
    marks codecs whose semantic layer is the generation prompt."""
    import bjontegaard as bd

    columns = ["source_kind", "source", "metric", "anchor", "codec", "oracle", "bd_rate_percent", "anchor_points"]
    columns += ["codec_points", "note"]
    out = []
    if summary.empty:  # no unit in the tables (none finished, or every one left out as stale)
        return pd.DataFrame(out, columns=columns)
    set_names = [c for c in ("fid", "kid") if c in summary.columns]
    for (kind, source), sub in summary.groupby(["source_kind", "source"], sort=False):
        for metric in [*metrics, *set_names]:
            mean_col, _ = metric_columns(metric)
            sign = -1.0 if metric_info(metric).lower_better else 1.0

            def points(codec: str, sub=sub, mean_col=mean_col, sign=sign):
                rows = sub[(sub["codec"] == codec) & (sub["ok"] == sub["images"]) & (sub["ok"] > 0)]
                rows = rows[np.isfinite(rows[mean_col])].sort_values("bpp_mean")
                return rows["bpp_mean"].to_numpy(), sign * rows[mean_col].to_numpy()

            rate_a, dist_a = points(anchor)
            for codec in [c for c in sub["codec"].unique() if c != anchor]:
                rate_t, dist_t = points(codec)
                value, note = math.nan, ""
                if len(rate_a) < 2 or len(rate_t) < 2:
                    note = "fewer than 2 targets where every image was reached"
                elif not (_increasing(dist_a) and _increasing(dist_t)):
                    note = "quality does not rise with rate on every curve"
                else:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        value = float(
                            bd.bd_rate(rate_a, dist_a, rate_t, dist_t, method="akima", require_matching_points=False)
                        )
                    if caught:
                        note = str(caught[-1].message).split(" You can silence")[0]
                    if not np.isfinite(value):
                        value = math.nan
                oracle = bool(sub.loc[sub["codec"] == codec, "oracle"].any()) if "oracle" in sub.columns else False
                out.append([kind, source, metric, anchor, codec, oracle, value, len(rate_a), len(rate_t), note])
    return pd.DataFrame(out, columns=columns)


def _increasing(values: np.ndarray) -> bool:
    return bool(np.all(np.diff(values) > 0))
