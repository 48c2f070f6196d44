"""The benchmark's one source of truth: every row of every finished ``compress`` unit, and the per-set summary.

``load_results`` reads the per-unit stats files (one row per image × codec × target, status ok /
unreachable / error); ``summarize`` turns them into mean and 95% CI per source × codec × target. A codec's own
means are over the images it reached at that target; a target a codec cannot reach on an image is counted
(``unreachable``) and never averaged in. Since the easy images are the ones reached, codecs are also compared
over the same images: the ``*_common_*`` columns are means over the images every codec of the set reached at that
target (``common_images`` of them; none: NaN). Intervals need at least ``MIN_CI_IMAGES`` values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aigi_scd.bench.environment import ROW_COLUMNS as ENVIRONMENT_COLUMNS
from aigi_scd.bench.metric_revisions import outdated_metrics
from aigi_scd.bench.originals import ORIGINAL
from aigi_scd.bench.semantic_fidelity import COLUMNS as SEMANTIC_COLUMNS
from aigi_scd.dataset.files import read_json

BASE_COLUMNS = [
    "key",
    "source",
    "source_kind",
    "origin",
    "codec",
    "oracle",
    "target_bpp",
    "config",
    "unit",
    "status",
    "bytes",
    "bpp",
    "width",
    "height",
    "min_bpp",
    "encode_seconds",
    "decode_seconds",
    "bitstream_sha256",
    ORIGINAL,
    "fixed_bytes",
    "decode_verified",
    "error",
    *ENVIRONMENT_COLUMNS,
    *SEMANTIC_COLUMNS,
]

GROUP = ["source_kind", "source", "codec", "target_bpp"]

ALL_AIGI = "all-aigi"  # every AIGI model together, when a build has more than one
MIN_CI_IMAGES = 5  # fewer values give no 95% interval (two images gave ±52 dB of psnr)

KIND_LABEL = {"aigi": "AIGI", "natural": "natural"}


def benchmark_dir(out: Path) -> Path:
    return Path(out) / "benchmark"


def load_results(out: Path, leave_out: Collection[Path] = ()) -> tuple[pd.DataFrame, list[str]]:
    """Every row of every finished unit under ``out/compressed`` but those in `leave_out` (stats files of units
    that no longer match their source or cannot be read: :func:`aigi_scd.bench.stale.unit_issues`), and the
    per-image metric names in order."""
    rows: list[dict[str, Any]] = []
    metrics: list[str] = []
    skip = {Path(p) for p in leave_out}
    for path in sorted((Path(out) / "compressed").glob("*/*.stats.json")):
        if path in skip:
            continue
        try:
            stats = read_json(path)
        except (OSError, json.JSONDecodeError):
            continue  # unreadable: also in `leave_out` when the caller asked unit_issues, and reported there
        for name in stats.get("metrics", []):
            if name not in metrics:
                metrics.append(name)
        outdated = outdated_metrics(stats)  # computed under an earlier convention: left empty, never mixed in
        for row in stats.get("rows", []):
            flat = {k: row.get(k) for k in BASE_COLUMNS}
            flat.update({k: v for k, v in (row.get("scores") or {}).items() if k not in outdated})
            rows.append(flat)
    frame = pd.DataFrame(rows, columns=[*BASE_COLUMNS, *metrics])
    numeric = ["target_bpp", "bytes", "bpp", "width", "height", "min_bpp", "encode_seconds", "decode_seconds"]
    numeric.append("fixed_bytes")
    for column in [*numeric, *SEMANTIC_COLUMNS]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["oracle"] = np.array([value is True for value in frame["oracle"]], dtype=bool)  # older rows: not oracle
    for column in metrics:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame = frame.sort_values(["source_kind", "source", "codec", "target_bpp", "key"], kind="stable")
    return frame.reset_index(drop=True), metrics


def mean_ci95(values: Sequence[float], min_n: int = MIN_CI_IMAGES) -> tuple[float, float]:
    """Mean and the half-width of its 95% confidence interval (Student t; NaN below `min_n` values). The t quantile
    is scipy.special's ``stdtrit``, the function ``scipy.stats.t.ppf`` calls (without importing scipy.stats: a second
    of every run's end)."""
    from scipy.special import stdtrit

    data = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    if data.size == 0:
        return math.nan, math.nan
    mean = float(data.mean())
    if data.size < max(2, min_n):
        return mean, math.nan
    half = float(stdtrit(data.size - 1, 0.975) * data.std(ddof=1) / math.sqrt(data.size))
    return mean, half


def groups(frame: pd.DataFrame):
    """(source_kind, source, codec, target) → rows, plus ``all-aigi`` groups when there are several AIGI sets."""
    for key, sub in frame.groupby(GROUP, sort=True):
        yield key, sub
    aigi = frame[frame["source_kind"] == "aigi"]
    if aigi["source"].nunique() >= 2:
        for (codec, target), sub in aigi.groupby(["codec", "target_bpp"], sort=True):
            yield ("aigi", ALL_AIGI, codec, target), sub


def group_id(source: str, codec: str, target: float) -> str:
    return f"{source}|{codec}|{target:g}"


def common_keys(frame: pd.DataFrame) -> dict[tuple[str, float], set[tuple[str, str]]]:
    """(source, target) → the (source, key) of the images every codec of the set reached at that target (all-aigi:
    every codec of the AIGI sets, over all of them)."""
    found = {}
    for (_, source, _, target), sub in groups(frame):
        reached = set(zip(sub.loc[sub["status"] == "ok", "source"], sub.loc[sub["status"] == "ok", "key"], strict=True))
        found[(source, target)] = found[(source, target)] & reached if (source, target) in found else reached
    return found


def summarize(frame: pd.DataFrame, metrics: list[str], set_scores: dict[str, dict] | None = None) -> pd.DataFrame:
    """One row per source × codec × target: counts, mean bpp and every metric's mean, 95% CI and count, over the
    images the codec reached and over those every codec reached (``*_common_*``)."""
    set_scores = set_scores or {}
    set_names = sorted({k for v in set_scores.values() for k in v.get("scores", {})})
    common = common_keys(frame)
    out = []
    for (kind, source, codec, target), sub in groups(frame):
        ok = sub[sub["status"] == "ok"]
        shared = common.get((source, target), set())
        both = ok[np.array([pair in shared for pair in zip(ok["source"], ok["key"], strict=True)], dtype=bool)]
        row: dict[str, Any] = {
            "source_kind": kind,
            "source": source,
            "codec": codec,
            "oracle": bool(sub["oracle"].any()),
            "target_bpp": target,
            "images": len(sub),
            "ok": len(ok),
            "unreachable": int((sub["status"] == "unreachable").sum()),
            "errors": int((sub["status"] == "error").sum()),
            "common_images": len(shared),
        }
        row["bpp_mean"], row["bpp_ci95"] = mean_ci95(ok["bpp"])
        row["bpp_common_mean"] = mean_ci95(both["bpp"])[0]
        unreachable = sub.loc[sub["status"] == "unreachable", "min_bpp"].dropna()
        row["min_bpp_mean"] = float(unreachable.mean()) if len(unreachable) else math.nan
        row["encode_seconds_mean"] = mean_ci95(ok["encode_seconds"])[0]
        row["decode_seconds_mean"] = mean_ci95(ok["decode_seconds"])[0]
        row["fixed_bytes_mean"] = mean_ci95(ok["fixed_bytes"])[0]  # header and container bytes per file
        row["decode_verified"] = not any(value is False for value in ok["decode_verified"])
        for name in [*SEMANTIC_COLUMNS, *metrics]:
            values = ok[name].dropna()
            row[f"{name}_mean"], row[f"{name}_ci95"] = mean_ci95(values)
            row[f"{name}_n"] = int(np.isfinite(values.to_numpy(dtype=np.float64)).sum())
        for name in metrics:
            values = both[name].dropna()
            row[f"{name}_common_mean"], row[f"{name}_common_ci95"] = mean_ci95(values)
            row[f"{name}_common_n"] = int(np.isfinite(values.to_numpy(dtype=np.float64)).sum())
        cached = set_scores.get(group_id(source, codec, target), {})
        for name in set_names:
            value = cached.get("scores", {}).get(name)
            row[name] = math.nan if value is None else float(value)
        out.append(row)
    summary = pd.DataFrame(out)
    if summary.empty:
        return summary
    order = [(k != "aigi", s != ALL_AIGI, s) for k, s in zip(summary["source_kind"], summary["source"], strict=True)]
    summary["_order"] = order
    summary = summary.sort_values(["_order", "codec", "target_bpp"], kind="stable").drop(columns="_order")
    return summary.reset_index(drop=True)


def metric_columns(metric: str, common: bool = False) -> tuple[str, str | None]:
    """The summary columns of a metric's mean and CI (over the codec's images, or those every codec reached); the
    set-level FID and KID have one value per codec and target and no common-subset one."""
    if metric in ("fid", "kid"):
        return (metric, None) if not common else (f"{metric}_common", None)
    part = "_common" if common else ""
    return f"{metric}{part}_mean", f"{metric}{part}_ci95"


def fullest_config(frame: pd.DataFrame, codec_order: Sequence[str] | None = None) -> tuple[str, int, int] | None:
    """The compressed-set config that holds the most images (every one, when a codec reached every image at a
    target), preferring codecs in `codec_order` and lower targets: (config, images it holds, images in all)."""
    if frame.empty:
        return None
    total = frame[["source", "key"]].drop_duplicates().shape[0]
    held = frame[frame["status"] == "ok"].groupby("config").size()
    if held.empty:
        return None
    rank = {c: i for i, c in enumerate(codec_order or [])}
    first = frame.drop_duplicates("config").set_index("config")
    best = min(
        held.index, key=lambda c: (-held[c], rank.get(first.loc[c, "codec"], len(rank)), first.loc[c, "target_bpp"], c)
    )
    return str(best), int(held[best]), total
