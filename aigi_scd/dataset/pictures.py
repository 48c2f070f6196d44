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
    step_of = {step.get("name"): step for step in steps}
    plt = _pyplot()
    cols = min(4, len(order))
    rows = math.ceil(len(order) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.5 * rows + 0.8), squeeze=False)
    for ax in list(axes.flat)[len(order) :]:
        ax.set_visible(False)
    colours, labels = ["#4c72b0", "#dd8452"], ["kept", "rejected"]
    for ax, name in zip(axes.flat, order, strict=False):
        kept, rejected = values[name]
        bounds = thresholds(step_of.get(name, {}))
        everything = [*kept, *rejected, *(v for _, v in bounds)]
        low, high = min(everything), max(everything)
        span = (low - 0.5, high + 0.5) if low == high else (low, high)  # bins across scores and thresholds alike
        ax.hist([kept, rejected], bins=30, range=span, stacked=True, color=colours, label=labels)
        for _, value in bounds:
            ax.axvline(value, color="#c44e52", linestyle="--", linewidth=1.2, label="threshold")
        title = name + "".join(f"\n{key} {value:g}" for key, value in bounds)
        ax.set_title(title, fontsize=8)
        ax.tick_params(labelsize=7)
    handles, names = axes.flat[0].get_legend_handles_labels()
    for ax in list(axes.flat)[1 : len(order)]:  # a threshold line may first appear in a later panel
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            if label not in names:
                handles.append(handle)
                names.append(label)
    fig.legend(handles, names, loc="upper right", fontsize=8, ncol=len(names))
    fig.suptitle(
        f"{source.name}: filter scores of {len(source.samples)} generated images", fontsize=10, x=0.02, ha="left"
    )
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.08, top=1 - 0.9 / (2.5 * rows + 0.8), hspace=0.65, wspace=0.3)
    return _png(fig)


def write_pictures(contents: BuildContents) -> dict[str, dict[str, Path]]:
    """Write every source's pictures; returns source → {"samples"|"scores": path} for those written."""
    folder = pictures_dir(contents.out)
    written: dict[str, dict[str, Path]] = {}
    for source in contents.sources:
        for kind, path, data in (
            ("samples", contact_sheet_path(contents.out, source.name), contact_sheet(source)),
            ("scores", scores_path(contents.out, source.name), score_histograms(source, contents.steps)),
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
