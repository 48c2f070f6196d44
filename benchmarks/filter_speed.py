"""Time every step of a filter preset per image, at generation-like sizes, on the build's device.

    python benchmarks/filter_speed.py [--preset offline] [--size 1024] [--images 16] [--batch 4] [--device auto]

Images are Kodak photographs resized to --size (or smooth random images when the Kodak folder is absent).
Prints milliseconds per image for each step and the whole chain.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

from aigi_scd.dataset.png import encode_png
from aigi_scd.filters import Candidate
from aigi_scd.filters.preset import load_filter_preset
from aigi_scd.weights.device import pick_device

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"


def images(n: int, size: int) -> list[np.ndarray]:
    paths = sorted(KODAK.glob("*.png"))
    if paths:
        return [np.asarray(Image.open(paths[i % len(paths)]).convert("RGB").resize((size, size))) for i in range(n)]
    rng = np.random.default_rng(0)
    small = [rng.integers(0, 256, (size // 32, size // 32, 3), dtype=np.uint8) for _ in range(n)]
    return [np.asarray(Image.fromarray(s).resize((size, size), Image.Resampling.BICUBIC)) for s in small]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="offline")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = pick_device(args.device)
    chain = load_filter_preset(args.preset)
    chain.prepare(device)
    pixels = images(args.images, args.size)
    cands = [Candidate(f"img{i}", encode_png(p), p) for i, p in enumerate(pixels)]
    seconds = dict.fromkeys(chain.names, 0.0)
    for start in range(0, len(cands), args.batch):  # each filter on the whole batch, as a build runs them
        batch = cands[start : start + args.batch]
        for filt in chain.filters:
            began = time.perf_counter()
            for c, r in zip(batch, filt(batch), strict=True):
                c.results.append(r)
            seconds[filt.name] += time.perf_counter() - began
        for step in chain.steps:
            began = time.perf_counter()
            step.features(batch)
            seconds[step.name] += time.perf_counter() - began
    for step in chain.steps:
        began = time.perf_counter()
        step.decide(cands)
        seconds[step.name] += time.perf_counter() - began
    n = len(cands)
    print(f"preset {args.preset}, {n} images of {args.size}×{args.size}, batch {args.batch}, device {device}")
    for name, s in seconds.items():
        print(f"  {name:<16} {1000 * s / n:8.1f} ms/img")
    total = sum(seconds.values())
    print(f"  {'chain':<16} {1000 * total / n:8.1f} ms/img  ({n / total:.1f} img/s)")


if __name__ == "__main__":
    main()
