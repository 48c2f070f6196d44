"""The field's anchors on Kodak: every built-in codec that runs offline, all 24 images, 0.02 / 0.03 / 0.05 bpp,
through `aigi-scd compress` itself (so every number is one of its results rows).

    python benchmarks/bench_anchors.py                       # writes out/bench-anchors, prints the table
    python benchmarks/bench_anchors.py --images 4 --workers 1 --out /tmp/anchors   # a quick look

Prints per codec and target: images reached of 24, mean bpp, PSNR and MS-SSIM over the images reached (``psnr``
and ``ms_ssim`` as `compress --metrics` computes them: RGB MS-SSIM, CompressAI's convention, as printed with the
table), mean fixed bytes per file, and BD-rate (PSNR and MS-SSIM, Akima, over the targets where a
codec reached every image) against thumb-hevc and against thumb-avif. Codecs with models (misc, misc-oracle,
misc-compressai, cheng2020-attn: weights from the hub or the CompressAI zoo) and the random-weight test presets
(misc-tiny, misc-compressai-tiny, compressai-random: their output is noise) are left out.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
KODAK = Path(os.environ.get("AIGI_SCD_SHARED") or REPO.parent / "shared") / "data" / "kodak"
CODECS = (
    "thumb-hevc,thumb-avif,misc-offline,thumb-jpegxl,thumb-jpeg2000,thumb-webp,thumb-jpeg,"
    "hevc,jpeg2000,jpegxl,avif,webp,jpeg"
)
TARGETS = "0.02,0.03,0.05"
ANCHORS = ("thumb-hevc", "thumb-avif")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=24, help="the first N Kodak images")
    parser.add_argument("--workers", type=int, default=None, help="encoding processes [one per core]")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "bench-anchors")
    parser.add_argument("--codecs", default=CODECS)
    args = parser.parse_args(argv)
    images = Path(tempfile.mkdtemp(prefix="kodak-")) / "kodak"
    images.mkdir()
    for path in sorted(KODAK.glob("*.png"))[: args.images]:
        shutil.copy(path, images / path.name)
    command = [sys.executable, "-m", "aigi_scd", "compress", "--images", str(images), "--codecs", args.codecs,
               "--bpp", TARGETS, "--metrics", "psnr,ms_ssim", "--anchor", ANCHORS[0], "--out", str(args.out),
               "--quiet"]  # fmt: skip
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    print(table(args.out, args.codecs.split(",")))
    load = os.getloadavg()
    print(f"\n{len(list(images.iterdir()))} images; compress took {seconds:.0f} s; load average {load[0]:.1f}")
    print(f"command: {' '.join(command)}")


def table(out: Path, order: list[str]) -> str:
    from aigi_scd.bench.bdrate import bd_rates
    from aigi_scd.bench.results import load_results, summarize

    frame, metrics = load_results(out)
    summary = summarize(frame, metrics)
    bd = {anchor: bd_rates(summary, metrics, anchor) for anchor in ANCHORS}
    lines = [
        "| codec | target | reached | bpp | PSNR dB | MS-SSIM | fixed B | BD-rate PSNR vs thumb-hevc | "
        "BD-rate MS-SSIM vs thumb-hevc | BD-rate PSNR vs thumb-avif | BD-rate MS-SSIM vs thumb-avif |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for codec in order:
        rows = summary[summary["codec"] == codec].sort_values("target_bpp")
        for i, (_, row) in enumerate(rows.iterrows()):
            cells = [codec, f"{row['target_bpp']:g}", f"{row['ok']}/{row['images']}"]
            if row["ok"]:
                cells += [f"{row['bpp_mean']:.4f}", f"{row['psnr_mean']:.2f}", f"{row['ms_ssim_mean']:.4f}"]
                cells.append("–" if pd.isna(row["fixed_bytes_mean"]) else f"{row['fixed_bytes_mean']:.0f}")
            else:
                cells += [f"(min {row['min_bpp_mean']:.3f})", "–", "–", "–"]
            for anchor in ANCHORS:
                for metric in ("psnr", "ms_ssim"):
                    cells.append(_bd(bd[anchor], codec, metric, anchor) if i == 0 else "")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nMS-SSIM: " + _msssim_convention()


def _bd(frame: pd.DataFrame, codec: str, metric: str, anchor: str) -> str:
    if codec == anchor:
        return "anchor"
    row = frame[(frame["codec"] == codec) & (frame["metric"] == metric)]
    if row.empty or pd.isna(row.iloc[0]["bd_rate_percent"]):
        return "–"
    return f"{row.iloc[0]['bd_rate_percent']:+.1f}%"


def _msssim_convention() -> str:
    """Which MS-SSIM `compress` scored, from the label its tables give it."""
    from aigi_scd.bench.metrics import metric_label

    if metric_label("ms_ssim") == "ms_ssim (RGB)":
        return "RGB MS-SSIM as CompressAI's evaluation computes it (pytorch-msssim, data_range 255 on 8-bit values)"
    return f"{metric_label('ms_ssim')} (pyiqa's ms_ssim)"


if __name__ == "__main__":
    main()
