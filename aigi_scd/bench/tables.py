"""Benchmark tables as people read them: ``summary.md`` (one table per set) and the terminal summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aigi_scd.bench.metrics import metric_info, metric_label
from aigi_scd.bench.results import KIND_LABEL, MIN_CI_IMAGES
from aigi_scd.bench.semantic_fidelity import COLUMNS as SEMANTIC_COLUMNS

SEMANTIC_HEADERS = {
    "semantic_object_recall": "object recall ↑",
    "semantic_object_precision": "object precision ↑",
    "semantic_description_similarity": "description sim ↑",
}
ORACLE_MARK = " (oracle)"
UNVERIFIED_MARK = " (decode not verified)"


def codec_label(row) -> str:
    """The codec's name, marked when its semantic layer is the generation prompt (an oracle), and when its files
    were made elsewhere and no decoder here re-checked them."""
    label = row["codec"] + (ORACLE_MARK if bool(row.get("oracle", False)) else "")
    return label + (UNVERIFIED_MARK if row.get("decode_verified", True) is False else "")


def _fixed(row) -> str:
    value = row.get("fixed_bytes_mean", np.nan)
    return "–" if value is None or not np.isfinite(value) else f"{value:.0f}"


def codec_order_of(values: Sequence[str], preferred: Sequence[str] | None) -> list[str]:
    preferred = [v for v in (preferred or []) if v in values]
    return preferred + sorted(v for v in set(values) if v not in preferred)


def _digits(value: float) -> int:
    magnitude = abs(value)
    return 1 if magnitude >= 100 else 2 if magnitude >= 10 else 4


def fmt(value: float, digits: int | None = None) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:.{_digits(value) if digits is None else digits}f}"


def _cell(mean: float, half: float, n: float | None = None, of: float | None = None) -> str:
    """``mean ± half`` with both at the mean's precision; ``(n=K)`` when only K of the `of` images have a score
    (the metric gave NaN or inf for the others)."""
    if not np.isfinite(mean):
        return "–"
    digits = _digits(mean)
    text = fmt(mean, digits) if not np.isfinite(half) else f"{fmt(mean, digits)} ± {fmt(half, digits)}"
    if n is not None and of is not None and np.isfinite(n) and n < of:
        text += f" (n={int(n)})"
    return text


def _scored(row, metric: str, common: bool = False) -> str:
    part = "_common" if common else ""
    n = row.get(f"{metric}{part}_n")
    return _cell(row[f"{metric}{part}_mean"], row[f"{metric}{part}_ci95"], n, row["common_images" if common else "ok"])


def _reached(row) -> str:
    text = f"{row['ok']}/{row['images']}"
    if row["ok"] < row["images"] and np.isfinite(row["min_bpp_mean"]):
        text += f" (min {row['min_bpp_mean']:.3f})"
    return text


SUMMARY_NOTE = (
    f"Mean ± 95% CI (Student t; no interval from fewer than {MIN_CI_IMAGES} images) over the images each codec "
    "reached at the target. `reached` counts images whose file fits the target (the mean smallest bpp of the "
    "others in brackets); a codec never exceeds a target. The images a codec reaches at a low target are the easy "
    "ones, so each set has a second table: means over the images *every* codec of the set reached at that "
    "target, the fair comparison. (n=K) marks a mean over only K scored images: the metric gave NaN or inf for "
    "the others. ↑ higher is better, ↓ lower is better. FID/KID are set-level (originals vs reconstructions). "
    "– marks a score that is undefined there (ms_ssim needs 161 pixels a side). "
    "ms_ssim (RGB) is MS-SSIM on the RGB channels as CompressAI and CLIC report it (pytorch-msssim on integer "
    "pixel values); ms_ssim (Y) and ssim (Y) score the luma channel only (MATLAB's convention, pyiqa's).\n\n"
    "Semantic fidelity (AIGI sets, MISC files): how well the semantic layer a file carries matches the "
    "generation prompt — object recall and precision (names paired by all-MiniLM-L6-v2 similarity ≥ 0.7) "
    "and the similarity of the description to the prompt. Codecs marked (oracle) take their semantic layer "
    "from the generation prompt itself, which no real encoder has: compare them with each other, not with "
    "codecs whose semantics come from a vision-language model.\n\n"
    "`fixed B` is the mean number of bytes per file that are header and container rather than coded picture "
    "(– where a format does not separate them); it is part of bpp. Codecs marked (decode not verified) are results "
    "made elsewhere whose bitstreams no decoder here re-checked: their reconstructions are taken as given."
)


@dataclass
class SummaryTable:
    """One set's rows of the summary, as text cells (the markdown file and the HTML report show the same)."""

    title: str
    headers: list[str]
    rows: list[list[str]]


def summary_tables(
    summary: pd.DataFrame, metrics: list[str], codec_order: Sequence[str] | None = None
) -> list[SummaryTable]:
    """One table per set: mean ± 95% CI per codec and target; unreachable targets say so."""
    if summary.empty:
        return []
    set_names = [c for c in ("fid", "kid") if c in summary.columns]
    tables = []
    for (kind, source), sub in summary.groupby(["source_kind", "source"], sort=False):
        semantic = [c for c in SEMANTIC_COLUMNS if f"{c}_n" in sub.columns and sub[f"{c}_n"].fillna(0).sum() > 0]
        headers = ["codec", "target bpp", "bpp", "reached", "fixed B"]
        headers += [f"{metric_label(m)} {metric_info(m).arrow}" for m in metrics]
        headers += [f"{m} ↓" for m in set_names] + [SEMANTIC_HEADERS[c] for c in semantic] + ["enc s", "dec s"]
        rows = []
        for codec in codec_order_of(list(sub["codec"].unique()), codec_order):
            for _, row in sub[sub["codec"] == codec].sort_values("target_bpp").iterrows():
                if row["ok"] == 0:
                    cells = [codec_label(row), f"{row['target_bpp']:g}", "unreachable", _reached(row), "–"]
                    cells += ["–"] * (len(metrics) + len(set_names) + len(semantic)) + ["–", "–"]
                else:
                    cells = [
                        codec_label(row),
                        f"{row['target_bpp']:g}",
                        fmt(row["bpp_mean"]),
                        _reached(row),
                        _fixed(row),
                    ]
                    cells += [_scored(row, m) for m in metrics]
                    cells += [fmt(row[m]) for m in set_names]
                    cells += [_scored(row, c) for c in semantic]
                    cells += [f"{row['encode_seconds_mean']:.2f}", f"{row['decode_seconds_mean']:.2f}"]
                rows.append(cells)
        title = f"{source} ({KIND_LABEL.get(kind, kind)}, {int(sub['images'].max())} images)"
        tables.append(SummaryTable(title, headers, rows))
        if sub["codec"].nunique() > 1 and "common_images" in sub.columns:
            tables.append(common_table(source, kind, sub, metrics, codec_order))
    return tables


def common_table(
    source: str, kind: str, sub: pd.DataFrame, metrics: list[str], codec_order: Sequence[str] | None
) -> SummaryTable:
    """One set's means over the images every codec reached at each target (a target none shares says so)."""
    headers = ["codec", "target bpp", "images", "bpp", *[f"{m} {metric_info(m).arrow}" for m in metrics]]
    rows = []
    for target in sorted(sub["target_bpp"].unique()):
        at = sub[sub["target_bpp"] == target]
        shared = int(at["common_images"].max())
        if shared == 0:
            rows.append(
                ["every codec", f"{target:g}", "0: no image was reached by every codec", "–", *["–"] * len(metrics)]
            )
            continue
        for codec in codec_order_of(list(at["codec"].unique()), codec_order):
            row = at[at["codec"] == codec].iloc[0]
            cells = [codec_label(row), f"{target:g}", f"{shared} of {int(row['images'])}", fmt(row["bpp_common_mean"])]
            rows.append(cells + [_scored(row, m, common=True) for m in metrics])
    title = f"{source} ({KIND_LABEL.get(kind, kind)}): over the images every codec reached"
    return SummaryTable(title, headers, rows)


def summary_markdown(summary: pd.DataFrame, metrics: list[str], codec_order: Sequence[str] | None = None) -> str:
    """``summary.md``: the note, then one table per set."""
    lines = ["# Compression benchmark", "", SUMMARY_NOTE, ""]
    if summary.empty:
        return "\n".join([*lines, "No finished units yet.", ""])
    for table in summary_tables(summary, metrics, codec_order):
        lines += [f"## {table.title}", ""]
        lines += ["| " + " | ".join(table.headers) + " |", "|" + "---|" * len(table.headers)]
        lines += ["| " + " | ".join(row) + " |" for row in table.rows]
        lines.append("")
    return "\n".join(lines)


def screen_summary(summary: pd.DataFrame, metrics: list[str], codec_order: Sequence[str] | None = None) -> str:
    """A compact table per set for the terminal: bpp, images reached and the first few metrics."""
    shown = metrics[:3]
    lines = []
    for (kind, source), sub in summary.groupby(["source_kind", "source"], sort=False):
        lines.append(f"\n{source} ({KIND_LABEL.get(kind, kind)}, {int(sub['images'].max())} images)")
        header = f"  {'codec':<16}{'target':>7}{'bpp':>9}{'reached':>22}"
        header += "".join(f"{metric_label(m) + ' ' + metric_info(m).arrow:>16}" for m in shown)
        lines.append(header)
        for codec in codec_order_of(list(sub["codec"].unique()), codec_order):
            for _, row in sub[sub["codec"] == codec].sort_values("target_bpp").iterrows():
                bpp = fmt(row["bpp_mean"]) if row["ok"] else "unreach."
                line = f"  {codec_label(row):<16}{row['target_bpp']:>7g}{bpp:>9}{_reached(row):>22}"
                line += "".join(f"{fmt(row[f'{m}_mean']):>16}" for m in shown)
                lines.append(line)
        if (sub["ok"] < sub["images"]).any() and "common_images" in sub.columns and sub["codec"].nunique() > 1:
            shared = sub[["target_bpp", "common_images"]].drop_duplicates().sort_values("target_bpp")
            counts = ", ".join(f"{int(n)} at {t:g}" for t, n in shared.itertuples(index=False, name=None))
            lines.append(
                "  means over the images each codec reached; summary.md also compares the codecs over the images "
                f"every one reached ({counts} bpp)"
            )
    return "\n".join(lines)
