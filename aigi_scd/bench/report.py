"""``OUT/benchmark/report.html``: one static page that opens from disk (no server, no network) with the summary
tables, the rate–quality plots, and per image the original beside every codec's reconstruction at every target,
with bpp and scores, and a control to flip or slide between any two of them.

Images are embedded as lossless PNG data URIs, so the page is one file; large sets are sampled (an even spread of
`images_per_set` keys per set), and the page says how many of how many it shows. The page is rendered by Jinja2
from ``report_assets/``; its script is hand-written (a few dozen lines: the page must work with no network, so no
library can be fetched, and the comparison needs only two stacked images and a clip).
"""

from __future__ import annotations

import base64
import contextlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from aigi_scd.bench.metrics import metric_info, metric_label
from aigi_scd.bench.plots import PLOT_NOTE
from aigi_scd.bench.results import KIND_LABEL, benchmark_dir
from aigi_scd.bench.sources import load_rgb
from aigi_scd.bench.tables import ORACLE_MARK, SUMMARY_NOTE, codec_order_of, fmt, summary_tables
from aigi_scd.codec.errors import ImageInputError
from aigi_scd.dataset.contents import read_members
from aigi_scd.dataset.files import read_json, write_bytes_atomic
from aigi_scd.dataset.png import encode_png
from aigi_scd.dataset.shards import IMAGE_FIELDS

REPORT = "report.html"
DEFAULT_REPORT_IMAGES = 6  # per set: real images are large and every one is embedded with all its reconstructions


@dataclass
class Version:
    """One cell of an image's grid: a reconstruction (or the original) with its numbers, or why there is none."""

    id: str
    codec: str
    target: float | None
    status: str
    src: str | None = None
    bpp: float | None = None
    caption: str = ""
    note: str = ""

    @property
    def target_text(self) -> str:
        return f"{self.target:g}" if self.target is not None else ""


@dataclass
class ImageEntry:
    key: str
    width: int
    height: int
    prompt: str | None
    original: Version
    rows: list[tuple[str, list[Version]]] = field(default_factory=list)  # codec → versions by target


@dataclass
class SetEntry:
    name: str
    kind: str
    total: int
    images: list[ImageEntry]


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def spread(keys: Sequence[str], count: int) -> list[str]:
    """`count` keys evenly spread over the sorted `keys` (all of them when there are fewer)."""
    keys = sorted(keys)
    if count >= len(keys):
        return keys
    if count <= 1:
        return keys[:count]
    step = (len(keys) - 1) / (count - 1)
    return [keys[round(i * step)] for i in range(count)]


def _scores_text(row: pd.Series, metrics: list[str]) -> str:
    parts = [f"{metric_label(m)} {fmt(row[m])}" for m in metrics if m in row and pd.notna(row[m])]
    return " · ".join(parts)


def _originals(out: Path, rows: pd.DataFrame, sources: dict[str, Any]) -> dict[tuple[str, str], tuple[bytes, Any]]:
    """(source, key) → (original image bytes as the codecs saw them, PNG; the sample's prompt text or None)."""
    import json

    found: dict[tuple[str, str], tuple[bytes, Any]] = {}
    first = rows.drop_duplicates(["source", "key"])
    for (kind, source, origin), part in first.groupby(["source_kind", "source", "origin"], sort=False):
        keys = list(part["key"])
        if kind == "aigi":
            tar = Path(out) / origin
            names = [f"{k}.{ext}" for k in keys for ext in (*IMAGE_FIELDS, "json")]
            members = read_members(tar, names) if tar.is_file() else {}
            for key in keys:
                image = next((members[f"{key}.{ext}"] for ext in IMAGE_FIELDS if f"{key}.{ext}" in members), None)
                if image is not None:  # a PNG; an imported original may be a JPEG or WebP
                    meta = json.loads(members[f"{key}.json"]) if f"{key}.json" in members else {}
                    prompt = (meta.get("prompt") or {}).get("text")
                    _add(found, (source, key), image, prompt)
        else:
            root = Path((sources.get(source) or {}).get("root") or "")
            path = root / origin
            if path.is_file():
                _add(found, (source, keys[0]), path.read_bytes(), None)
    return found


def _add(found: dict[tuple[str, str], tuple[bytes, Any]], where: tuple[str, str], data: bytes, prompt: Any) -> None:
    """An original the page can show; one no codec could read (its rows are errors) is left out of the page."""
    with contextlib.suppress(ImageInputError):
        found[where] = (encode_png(load_rgb(data)), prompt)


def _reconstructions(out: Path, rows: pd.DataFrame) -> dict[tuple[str, str], bytes]:
    """(config, key) → reconstruction PNG, for the ok rows."""
    found: dict[tuple[str, str], bytes] = {}
    ok = rows[rows["status"] == "ok"]
    for (config, unit), part in ok.groupby(["config", "unit"], sort=False):
        tar = Path(out) / "compressed" / config / f"{unit}.tar"
        if tar.is_file():
            members = read_members(tar, [f"{k}.png" for k in part["key"]])
            found.update({(config, k): members[f"{k}.png"] for k in part["key"] if f"{k}.png" in members})
    return found


def _version(row: pd.Series, metrics: list[str], png: bytes | None) -> Version:
    target = float(row["target_bpp"])
    version = Version(f"{row['codec']}@{target:g}", row["codec"], target, row["status"])
    if row["status"] == "ok" and png is not None:
        version.src, version.bpp = data_uri(png), float(row["bpp"])
        version.caption = f"{fmt(row['bpp'])} bpp · {_scores_text(row, metrics)}".rstrip(" ·")
    elif row["status"] == "ok":
        version.note = "reconstruction not found in its tar"
    elif row["status"] == "unreachable":
        smallest = row.get("min_bpp")
        version.note = "unreachable" + (f": smallest file {fmt(smallest)} bpp" if pd.notna(smallest) else "")
    else:
        version.note = f"error: {row.get('error') or 'unknown'}"
    return version


def build_sets(
    out: Path, frame: pd.DataFrame, metrics: list[str], codec_order: Sequence[str] | None, images_per_set: int
) -> list[SetEntry]:
    """The sampled images of every set with all their versions."""
    manifest = read_json(Path(out) / "compress.json") if (Path(out) / "compress.json").is_file() else {}
    sets = []
    codecs = codec_order_of(list(frame["codec"].unique()), codec_order)
    targets = sorted(frame["target_bpp"].unique())
    for (kind, source), rows in frame.groupby(["source_kind", "source"], sort=False):
        keys = sorted(rows.loc[rows["width"].notna(), "key"].unique())  # not originals no codec could read
        chosen = set(spread(keys, images_per_set))
        picked = rows[rows["key"].isin(chosen)]
        originals = _originals(out, picked, manifest.get("sources", {}))
        recs = _reconstructions(out, picked)
        entries = []
        for key in sorted(chosen):
            mine = picked[picked["key"] == key]
            first = mine.iloc[0]
            png, prompt = originals.get((source, key), (None, None))
            original = Version("original", "original", None, "ok" if png else "missing")
            if png:
                original.src = data_uri(png)
                original.caption = f"{int(first['width'])}×{int(first['height'])} px"
            else:
                original.note = "original not found (moved or deleted since compress)"
            entry = ImageEntry(key, int(first["width"]), int(first["height"]), prompt, original)
            for codec in codecs:
                cells = []
                for target in targets:
                    match = mine[(mine["codec"] == codec) & (mine["target_bpp"] == target)]
                    if len(match):
                        row = match.iloc[0]
                        cells.append(_version(row, metrics, recs.get((row["config"], key))))
                if cells:
                    entry.rows.append((codec, cells))
            entries.append(entry)
        sets.append(SetEntry(source, KIND_LABEL.get(kind, kind), len(keys), entries))
    return sets


def _asset(name: str) -> str:
    return resources.files("aigi_scd.bench").joinpath("report_assets", name).read_text(encoding="utf-8")


def render_report(out: Path, bench: dict[str, Any], images_per_set: int = DEFAULT_REPORT_IMAGES) -> str:
    """The page's HTML from the benchmark (`write_benchmark`'s frames) and the files under `out`."""
    import jinja2
    import markupsafe

    out = Path(out)
    frame: pd.DataFrame = bench["results"]
    metrics: list[str] = bench["metrics"]
    codec_order = bench.get("codec_order")
    folder = benchmark_dir(out)
    plotted = [m for m in [*metrics, "fid", "kid"] if (folder / f"rd_{m}.png").is_file()]
    plots = [(metric_label(m), metric_info(m).arrow, data_uri((folder / f"rd_{m}.png").read_bytes())) for m in plotted]
    manifest = read_json(out / "compress.json") if (out / "compress.json").is_file() else {}
    oracles = set(frame.loc[frame["oracle"].astype(bool), "codec"]) if "oracle" in frame.columns else set()
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(_asset("report.html.j2"))
    return template.render(
        css=_asset("report.css"),
        script=_asset("report.js"),
        rows=len(frame),
        images=frame[["source", "key"]].drop_duplicates().shape[0],
        set_count=frame["source"].nunique(),
        codecs=codec_order_of(list(frame["codec"].unique()), codec_order),
        targets=[f"{t:g}" for t in sorted(frame["target_bpp"].unique())],
        statuses=frame["status"].value_counts().to_dict(),
        command=manifest.get("command"),
        note=markupsafe.Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(markupsafe.escape(SUMMARY_NOTE)))),
        tables=summary_tables(bench["summary"], metrics, codec_order),
        plots=plots,
        plot_note=PLOT_NOTE,
        label=lambda codec: codec + (ORACLE_MARK if codec in oracles else ""),
        sets=build_sets(out, frame, metrics, codec_order, images_per_set) if len(frame) else [],
        images_per_set=images_per_set,
        scale=lambda width: max(1, math.floor(512 / max(int(width), 1))),
    )


def write_report(out: Path, bench: dict[str, Any], images_per_set: int = DEFAULT_REPORT_IMAGES) -> Path:
    path = benchmark_dir(out) / REPORT
    write_bytes_atomic(path, render_report(out, bench, images_per_set).encode("utf-8"))
    return path
