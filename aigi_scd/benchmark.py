"""Benchmark tables and plots, derived only from the per-unit stats files of `compress`.

``benchmark/results.parquet``  one row per image × codec × target (status ok / unreachable / error)
``benchmark/summary.csv|.md``  mean and 95% CI per source × codec × target (+ set-level FID/KID)
``benchmark/rd_<metric>.png``  rate–quality curves, one line per codec, one panel per set (AIGI and natural apart)
``benchmark/bd_rate.csv``      Bjøntegaard-delta rate of each codec against an anchor, per set and metric

Means are over the images a codec reached at that target; a target a codec cannot reach on an image is
counted (``unreachable``) and never averaged in, and groups where only some images were reached are marked.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aigi_scd.metrics import metric_info
from aigi_scd.shards import iter_samples, read_json, write_bytes_atomic, write_json_atomic

BASE_COLUMNS = [
    "key",
    "source",
    "source_kind",
    "origin",
    "codec",
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
    "error",
]
GROUP = ["source_kind", "source", "codec", "target_bpp"]
ALL_AIGI = "all-aigi"  # every AIGI model together, when a build has more than one
KIND_LABEL = {"aigi": "AIGI", "natural": "natural"}


def benchmark_dir(out: Path) -> Path:
    return Path(out) / "benchmark"


def load_results(out: Path) -> tuple[pd.DataFrame, list[str]]:
    """Every row of every finished unit under ``out/compressed``, and the per-image metric names in order."""
    rows: list[dict[str, Any]] = []
    metrics: list[str] = []
    for path in sorted((Path(out) / "compressed").glob("*/*.stats.json")):
        try:
            stats = read_json(path)
        except (OSError, json.JSONDecodeError):
            continue  # an unreadable marker: the unit counts as unfinished
        for name in stats.get("metrics", []):
            if name not in metrics:
                metrics.append(name)
        for row in stats.get("rows", []):
            flat = {k: row.get(k) for k in BASE_COLUMNS}
            flat.update(row.get("scores") or {})
            rows.append(flat)
    frame = pd.DataFrame(rows, columns=[*BASE_COLUMNS, *metrics])
    for column in ["target_bpp", "bytes", "bpp", "width", "height", "min_bpp", "encode_seconds", "decode_seconds"]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in metrics:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame = frame.sort_values(["source_kind", "source", "codec", "target_bpp", "key"], kind="stable")
    return frame.reset_index(drop=True), metrics


def mean_ci95(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% confidence interval (Student t; NaN below two values)."""
    from scipy import stats

    data = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    if data.size == 0:
        return math.nan, math.nan
    mean = float(data.mean())
    if data.size < 2:
        return mean, math.nan
    half = float(stats.t.ppf(0.975, data.size - 1) * data.std(ddof=1) / math.sqrt(data.size))
    return mean, half


def _groups(frame: pd.DataFrame):
    """(source_kind, source, codec, target) → rows, plus ``all-aigi`` groups when there are several AIGI sets."""
    for key, sub in frame.groupby(GROUP, sort=True):
        yield key, sub
    aigi = frame[frame["source_kind"] == "aigi"]
    if aigi["source"].nunique() >= 2:
        for (codec, target), sub in aigi.groupby(["codec", "target_bpp"], sort=True):
            yield ("aigi", ALL_AIGI, codec, target), sub


def group_id(source: str, codec: str, target: float) -> str:
    return f"{source}|{codec}|{target:g}"


def summarize(frame: pd.DataFrame, metrics: list[str], set_scores: dict[str, dict] | None = None) -> pd.DataFrame:
    """One row per source × codec × target: counts, mean bpp and every metric's mean, 95% CI and count."""
    set_scores = set_scores or {}
    set_names = sorted({k for v in set_scores.values() for k in v.get("scores", {})})
    out = []
    for (kind, source, codec, target), sub in _groups(frame):
        ok = sub[sub["status"] == "ok"]
        row: dict[str, Any] = {
            "source_kind": kind,
            "source": source,
            "codec": codec,
            "target_bpp": target,
            "images": len(sub),
            "ok": len(ok),
            "unreachable": int((sub["status"] == "unreachable").sum()),
            "errors": int((sub["status"] == "error").sum()),
        }
        row["bpp_mean"], row["bpp_ci95"] = mean_ci95(ok["bpp"])
        unreachable = sub.loc[sub["status"] == "unreachable", "min_bpp"].dropna()
        row["min_bpp_mean"] = float(unreachable.mean()) if len(unreachable) else math.nan
        row["encode_seconds_mean"] = mean_ci95(ok["encode_seconds"])[0]
        row["decode_seconds_mean"] = mean_ci95(ok["decode_seconds"])[0]
        for name in metrics:
            values = ok[name].dropna()
            row[f"{name}_mean"], row[f"{name}_ci95"] = mean_ci95(values)
            row[f"{name}_n"] = len(values)
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


def _order(values: Sequence[str], preferred: Sequence[str] | None) -> list[str]:
    preferred = [v for v in (preferred or []) if v in values]
    return preferred + sorted(v for v in set(values) if v not in preferred)


def _digits(value: float) -> int:
    magnitude = abs(value)
    return 1 if magnitude >= 100 else 2 if magnitude >= 10 else 4


def fmt(value: float, digits: int | None = None) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:.{_digits(value) if digits is None else digits}f}"


def _cell(mean: float, half: float) -> str:
    """``mean ± half`` with both at the mean's precision."""
    if not np.isfinite(mean):
        return "–"
    digits = _digits(mean)
    return fmt(mean, digits) if not np.isfinite(half) else f"{fmt(mean, digits)} ± {fmt(half, digits)}"


def _reached(row) -> str:
    text = f"{row['ok']}/{row['images']}"
    if row["ok"] < row["images"] and np.isfinite(row["min_bpp_mean"]):
        text += f" (min {row['min_bpp_mean']:.3f})"
    return text


def summary_markdown(summary: pd.DataFrame, metrics: list[str], codec_order: Sequence[str] | None = None) -> str:
    """One table per set: mean ± 95% CI per codec and target; unreachable targets say so."""
    set_names = [c for c in ("fid", "kid") if c in summary.columns]
    lines = [
        "# Compression benchmark",
        "",
        "Mean ± 95% CI (Student t) over the images each codec reached at the target. `reached` counts images "
        "whose file fits the target (the mean smallest bpp of the others in brackets); a codec never exceeds a "
        "target. ↑ higher is better, ↓ lower is better. FID/KID are set-level (originals vs reconstructions). "
        "– marks a score that is undefined there (ms_ssim needs 161 pixels a side); one image gives no CI.",
        "",
    ]
    if summary.empty:
        return "\n".join([*lines, "No finished units yet.", ""])
    headers = ["codec", "target bpp", "bpp", "reached"]
    headers += [f"{m} {metric_info(m).arrow}" for m in metrics]
    headers += [f"{m} ↓" for m in set_names] + ["enc s", "dec s"]
    for (kind, source), sub in summary.groupby(["source_kind", "source"], sort=False):
        images = int(sub["images"].max())
        lines += [f"## {source} ({KIND_LABEL.get(kind, kind)}, {images} images)", ""]
        lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        for codec in _order(list(sub["codec"].unique()), codec_order):
            for _, row in sub[sub["codec"] == codec].sort_values("target_bpp").iterrows():
                if row["ok"] == 0:
                    cells = [codec, f"{row['target_bpp']:g}", "unreachable", _reached(row)]
                    cells += ["–"] * (len(metrics) + len(set_names)) + ["–", "–"]
                else:
                    cells = [codec, f"{row['target_bpp']:g}", fmt(row["bpp_mean"]), _reached(row)]
                    cells += [_cell(row[f"{m}_mean"], row[f"{m}_ci95"]) for m in metrics]
                    cells += [fmt(row[m]) for m in set_names]
                    cells += [f"{row['encode_seconds_mean']:.2f}", f"{row['decode_seconds_mean']:.2f}"]
                lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _metric_columns(metric: str) -> tuple[str, str | None]:
    return (f"{metric}_mean", f"{metric}_ci95") if metric not in ("fid", "kid") else (metric, None)


def rd_plot(summary: pd.DataFrame, metric: str, codec_order: Sequence[str] | None = None) -> bytes:
    """PNG of the rate–quality curves of `metric`: one panel per set (AIGI first), one line per codec.

    Points where a codec reached only some images are drawn hollow (their mean is over fewer images)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean_col, ci_col = _metric_columns(metric)
    panels = list(summary[["source_kind", "source"]].drop_duplicates().itertuples(index=False, name=None))
    panels.sort(key=lambda p: (p[0] != "aigi", p[1] != ALL_AIGI, p[1]))
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False)
    codecs = _order(list(summary["codec"].unique()), codec_order)
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


def bd_rates(summary: pd.DataFrame, metrics: list[str], anchor: str) -> pd.DataFrame:
    """BD-rate (%) of every codec against `anchor` per set and metric, over the targets where each codec reached
    every image (negative: fewer bits for the same quality). Lower-is-better metrics are negated first."""
    import bjontegaard as bd

    columns = ["source_kind", "source", "metric", "anchor", "codec", "bd_rate_percent", "anchor_points"]
    columns += ["codec_points", "note"]
    out = []
    set_names = [c for c in ("fid", "kid") if c in summary.columns]
    for (kind, source), sub in summary.groupby(["source_kind", "source"], sort=False):
        for metric in [*metrics, *set_names]:
            mean_col, _ = _metric_columns(metric)
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
                out.append([kind, source, metric, anchor, codec, value, len(rate_a), len(rate_t), note])
    return pd.DataFrame(out, columns=columns)


def _increasing(values: np.ndarray) -> bool:
    return bool(np.all(np.diff(values) > 0))


def results_fingerprint(rows: pd.DataFrame) -> str:
    """Which files a group's set-level scores were computed from."""
    ok = rows[rows["status"] == "ok"].sort_values(["source", "key"])
    text = "\n".join(f"{k}:{s}" for k, s in zip(ok["key"], ok["bitstream_sha256"], strict=True))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def update_set_scores(out: Path, frame: pd.DataFrame, scorer, sources: dict[str, Any], progress: bool = True) -> dict:
    """FID/KID per source × codec × target (and all-aigi), cached in ``benchmark/set_scores.json`` by a fingerprint
    of the bitstreams, so reruns only compute what changed. The originals' features are extracted once per image
    and reused across codecs and targets. Needs the sources of this run (other sets keep their cached values)."""
    path = benchmark_dir(out) / "set_scores.json"
    cache: dict[str, dict] = read_json(path) if path.is_file() else {}
    names = [m.name for m in scorer.set_metrics] if scorer is not None else []
    from tqdm.auto import tqdm

    from aigi_scd.sources import load_rgb

    todo, current = [], {}
    for (_, source, codec, target), sub in _groups(frame):
        gid = group_id(source, codec, target)
        fingerprint = results_fingerprint(sub)
        current[gid] = fingerprint
        ok = sub[sub["status"] == "ok"]
        entry = cache.get(gid, {})
        fresh = entry.get("fingerprint") == fingerprint and set(names) <= set(entry.get("scores", {}))
        if names and not fresh and set(ok["source"]) <= set(sources):
            todo.append((gid, fingerprint, ok))
    ref_features: dict[tuple[str, str], np.ndarray] = {}
    for gid, fingerprint, ok in tqdm(todo, desc="fid/kid", disable=not progress, leave=False):
        missing = ok[[(s, k) not in ref_features for s, k in zip(ok["source"], ok["key"], strict=True)]]
        for src, keys in missing.groupby("source")["key"]:
            originals = sources[src].items_by_key(set(keys))
            features = scorer.set_features([load_rgb(originals[k].data) for k in keys]) if len(keys) else []
            ref_features.update({(src, k): f for k, f in zip(keys, features, strict=True)})
        recs = []
        for (config, unit), part in ok.groupby(["config", "unit"], sort=True):
            stored = {s["__key__"]: s["png"] for s in iter_samples(Path(out) / "compressed" / config / f"{unit}.tar")}
            recs += [(src, key, _open(stored[key])) for src, key in zip(part["source"], part["key"], strict=True)]
        scores = {name: None for name in names}
        if len(recs) >= 2:
            rec_features = scorer.set_features([image for _, _, image in recs])
            refs = np.stack([ref_features[(src, key)] for src, key, _ in recs])
            scores = scorer.set_distances(rec_features, refs)
        cache[gid] = {"fingerprint": fingerprint, "n": len(recs), "scores": scores}
    if todo:
        write_json_atomic(path, cache)
    return {gid: entry for gid, entry in cache.items() if current.get(gid) == entry.get("fingerprint")}


def _open(png: bytes):
    from PIL import Image

    return Image.open(io.BytesIO(png)).convert("RGB")


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
    folder.mkdir(parents=True, exist_ok=True)
    frame, metrics = load_results(out)
    set_scores = update_set_scores(out, frame, scorer, sources or {}, progress)
    summary = summarize(frame, metrics, set_scores)
    written = []

    tmp = folder / "results.parquet.tmp"
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, folder / "results.parquet")
    written.append(folder / "results.parquet")

    write_bytes_atomic(folder / "summary.csv", summary.to_csv(index=False).encode("utf-8"))
    write_bytes_atomic(folder / "summary.md", summary_markdown(summary, metrics, codec_order).encode("utf-8"))
    written += [folder / "summary.csv", folder / "summary.md"]

    plotted = [*metrics, *[c for c in ("fid", "kid") if c in summary.columns]] if not summary.empty else []
    for metric in plotted:
        write_bytes_atomic(folder / f"rd_{metric}.png", rd_plot(summary, metric, codec_order))
        written.append(folder / f"rd_{metric}.png")

    codecs = list(summary["codec"].unique()) if not summary.empty else []
    anchor = anchor or next((c for c in ("thumb-avif", *(codec_order or []), *codecs) if c in codecs), None)
    bd = bd_rates(summary, metrics, anchor) if anchor else bd_rates(summary.iloc[0:0], [], "")
    write_bytes_atomic(folder / "bd_rate.csv", bd.to_csv(index=False).encode("utf-8"))
    written.append(folder / "bd_rate.csv")
    return {"results": frame, "metrics": metrics, "summary": summary, "bd_rate": bd, "anchor": anchor, "paths": written}


def screen_summary(summary: pd.DataFrame, metrics: list[str], codec_order: Sequence[str] | None = None) -> str:
    """A compact table per set for the terminal: bpp, images reached and the first few metrics."""
    shown = metrics[:3]
    lines = []
    for (kind, source), sub in summary.groupby(["source_kind", "source"], sort=False):
        lines.append(f"\n{source} ({KIND_LABEL.get(kind, kind)}, {int(sub['images'].max())} images)")
        header = f"  {'codec':<16}{'target':>7}{'bpp':>9}{'reached':>22}"
        header += "".join(f"{m + ' ' + metric_info(m).arrow:>12}" for m in shown)
        lines.append(header)
        for codec in _order(list(sub["codec"].unique()), codec_order):
            for _, row in sub[sub["codec"] == codec].sort_values("target_bpp").iterrows():
                bpp = fmt(row["bpp_mean"]) if row["ok"] else "unreach."
                line = f"  {codec:<16}{row['target_bpp']:>7g}{bpp:>9}{_reached(row):>22}"
                line += "".join(f"{fmt(row[f'{m}_mean']):>12}" for m in shown)
                lines.append(line)
    return "\n".join(lines)
