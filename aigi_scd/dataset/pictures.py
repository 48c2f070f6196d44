"""The card's pictures, drawn from a build's shards: per source a contact sheet (a grid of kept samples, each
labelled with its prompt category and style) and histograms of every filter's scores with the thresholds drawn.

Written to ``OUT/pictures/<source>-samples.png`` and ``OUT/pictures/<source>-scores.png``; pictures of sources
no longer in the build are removed.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

from aigi_scd.dataset.contents import BuildContents, SampleFacts, SourceContents, read_member
from aigi_scd.dataset.files import write_bytes_atomic

PICTURES = "pictures"
CONTACT_SHEET_SIZE = 24  # samples per contact sheet
SHEET_COLUMNS = 6


def picture_lines(contents: BuildContents, pictures: dict[str, dict[str, Path]], kind: str) -> list[str]:
    """Markdown image lines, one per source that has a `kind` picture (samples, scores), for the card and the
    datasheet alike."""
    lines = []
    for source in contents.sources:
        path = pictures.get(source.name, {}).get(kind)
        if path is not None:
            lines += [f"![{source.name} {kind}]({path.relative_to(contents.out).as_posix()})", ""]
    return lines


def pictures_dir(out: Path) -> Path:
    return Path(out) / PICTURES


def contact_sheet_path(out: Path, source: str) -> Path:
    return pictures_dir(out) / f"{source}-samples.png"


def scores_path(out: Path, source: str) -> Path:
    return pictures_dir(out) / f"{source}-scores.png"


def pick_samples(samples: list[SampleFacts], count: int = CONTACT_SHEET_SIZE) -> list[SampleFacts]:
    """Up to `count` kept samples, taken in turn from each category (in name order), so every category shows."""
    by_category: dict[str, list[SampleFacts]] = {}
    for sample in samples:
        by_category.setdefault(sample.category or "", []).append(sample)
    queues = [by_category[c] for c in sorted(by_category)]
    picked: list[SampleFacts] = []
    depth = 0
    while len(picked) < count and any(depth < len(q) for q in queues):
        picked += [q[depth] for q in queues if depth < len(q)][: count - len(picked)]
        depth += 1
    return picked


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    _pyplot().close(fig)
    return buffer.getvalue()


def contact_sheet(source: SourceContents, count: int = CONTACT_SHEET_SIZE, tile: int = 160) -> bytes | None:
    """PNG grid of kept samples, each scaled to fit a `tile`-pixel square and labelled with its category and style;
    None when the source kept no image. Drawn with Pillow: a paste per image, no plotting library needed."""
    from PIL import Image, ImageDraw, ImageFont

    picked = pick_samples([s for s in source.kept if s.tar and s.member], count)
    if not picked:
        return None
    font = ImageFont.load_default(size=12)
    title_font = ImageFont.load_default(size=15)
    cols = min(SHEET_COLUMNS, len(picked))
    rows = math.ceil(len(picked) / cols)
    pad, label, head = 8, 34, 30
    sheet = Image.new("RGB", (cols * (tile + pad) + pad, head + rows * (tile + label + pad)), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text(
        (pad, 8), f"{source.name}: {len(picked)} of {len(source.kept)} kept images", fill="black", font=title_font
    )
    for i, sample in enumerate(picked):
        x = pad + (i % cols) * (tile + pad)
        y = head + (i // cols) * (tile + label + pad)
        with Image.open(io.BytesIO(read_member(sample.tar, sample.member))) as image:
            thumb = image.convert("RGB")
        thumb.thumbnail((tile, tile), Image.Resampling.LANCZOS)
        sheet.paste(thumb, (x + (tile - thumb.width) // 2, y + tile - thumb.height))  # on the label
        for line, text in enumerate(t for t in (sample.category, sample.style) if t):
            draw.text((x, y + tile + 2 + 15 * line), text[:26], fill="#333", font=font)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def thresholds(step: dict[str, Any]) -> list[tuple[str, float]]:
    """A filter step's numeric settings that bound its score (``threshold``, ``min_*``, ``max_*``)."""
    found = []
    for key, value in step.items():
        if key in ("type", "name") or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if key == "threshold" or key.startswith(("min_", "max_")):
            found.append((key, float(value)))
    return found


def score_histograms(source: SourceContents, steps: list[dict[str, Any]]) -> bytes | None:
    """PNG of one histogram per filter that records a score: kept and rejected images stacked, thresholds dashed.
    None when no filter recorded a score."""
    order: list[str] = []
    values: dict[str, tuple[list[float], list[float]]] = {}
    for sample in source.samples:
        for result in sample.filters:
            if result.score is None:
                continue
            if result.name not in values:
                order.append(result.name)
                values[result.name] = ([], [])
            values[result.name][0 if sample.kept else 1].append(result.score)
    if not order:
        return None
    return _bands(scores_title(source), order, values, {step.get("name"): step for step in steps})


def scores_title(source: SourceContents) -> str:
    """The histograms' title: how many images were scored, and whether they were generated or imported."""
    return (
        f"{source.name}: filter scores of {len(source.samples)} {'imported' if source.imported else 'generated'} images"
    )


def _bands(
    title: str,
    order: list[str],
    values: dict[str, tuple[list[float], list[float]]],
    step_of: dict[str, dict[str, Any]],
) -> bytes:
    """One band per filter in a single axes (small multiples without an axes each, which draws some four
    times faster): stacked kept/rejected bars over the span of its scores and thresholds, thresholds dashed, the
    span's ends and the tallest bar's count written beside it."""
    import numpy as np

    plt = _pyplot()
    bins = 30
    fig, ax = plt.subplots(figsize=(9.0, 0.85 * len(order) + 0.9))  # the height is `height` below
    ax.set_axis_off()
    ax.set_xlim(-0.42, 1.12)
    ax.set_ylim(-0.35, len(order))
    colours = {"kept": "#4c72b0", "rejected": "#dd8452"}
    for row, name in enumerate(order):
        y = len(order) - 1 - row
        kept, rejected = (np.asarray(v, dtype=float) for v in values[name])
        bounds = thresholds(step_of.get(name, {}))
        everything = np.concatenate([kept, rejected, [v for _, v in bounds]])
        low, high = float(everything.min()), float(everything.max())
        span = (low - 0.5, high + 0.5) if low == high else (low, high)  # bins across scores and thresholds alike
        kept_counts, _ = np.histogram(kept, bins=bins, range=span)
        rejected_counts, _ = np.histogram(rejected, bins=bins, range=span)
        tallest = max(int((kept_counts + rejected_counts).max()), 1)
        scale = 0.78 / tallest
        total = (kept_counts + rejected_counts) * scale + y
        ax.stairs(total, np.linspace(0, 1, bins + 1), baseline=y, fill=True, color=colours["rejected"])
        ax.stairs(kept_counts * scale + y, np.linspace(0, 1, bins + 1), baseline=y, fill=True, color=colours["kept"])
        ax.plot([0, 1], [y, y], color="#999", linewidth=0.6)
        for _, value in bounds:
            x = (value - span[0]) / (span[1] - span[0])
            ax.plot([x, x], [y, y + 0.85], color="#c44e52", linestyle="--", linewidth=1.2)
        label = name + "".join(f"\n{key} {value:g}" for key, value in bounds)
        ax.text(-0.02, y + 0.4, label, ha="right", va="center", fontsize=8)
        ax.text(0, y - 0.05, f"{span[0]:.4g}", ha="left", va="top", fontsize=7, color="#555")
        ax.text(1, y - 0.05, f"{span[1]:.4g}", ha="right", va="top", fontsize=7, color="#555")
        ax.text(1.01, y + 0.78, f"{tallest}", ha="left", va="center", fontsize=7, color="#555")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours.values()]
    handles.append(plt.Line2D([0], [0], color="#c44e52", linestyle="--"))
    height = 0.85 * len(order) + 0.9
    fig.text(0.02, 1 - 0.12 / height, title, va="top", fontsize=10)
    fig.legend(
        handles,
        [*colours, "threshold"],
        loc="upper right",
        bbox_to_anchor=(0.98, 1 - 0.05 / height),
        fontsize=8,
        ncol=3,
        frameon=False,
    )
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=1 - 0.55 / height)
    return _png(fig)


def write_pictures(contents: BuildContents) -> dict[str, dict[str, Path]]:
    """Write every source's pictures; returns source → {"samples"|"scores": path} for those written."""
    folder = pictures_dir(contents.out)
    written: dict[str, dict[str, Path]] = {}
    for source in contents.sources:
        for kind, path, data in (
            ("samples", contact_sheet_path(contents.out, source.name), contact_sheet(source)),
            (
                "scores",
                scores_path(contents.out, source.name),
                score_histograms(source, contents.steps_of(source.name)),
            ),
        ):
            if data is not None:
                write_bytes_atomic(path, data)
                written.setdefault(source.name, {})[kind] = path
    if folder.is_dir():
        current = {p for paths in written.values() for p in paths.values()}
        for stale in folder.glob("*.png"):
            if stale not in current and stale.name.endswith(("-samples.png", "-scores.png")):
                stale.unlink()
    return written
