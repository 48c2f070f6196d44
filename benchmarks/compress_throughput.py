"""Throughput of `aigi-scd compress`'s two halves on real images: encoding in a process pool, and batched scoring.

    python benchmarks/compress_throughput.py --images ../shared/data/kodak --count 8 --codec thumb-avif --bpp 0.03

Prints images/s for encode+decode in this process (the baseline) and in a pool of N processes (and the speed-up),
then images/s for each metric of a preset at the given batch size. Numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image

from aigi_scd.bench.encode_worker import encode_one
from aigi_scd.bench.metrics import Scorer, resolve_metrics
from aigi_scd.bench.sources import folder_source, load_rgb
from aigi_scd.weights.workers import default_workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--codec", default="thumb-avif")
    parser.add_argument("--bpp", type=float, default=0.03)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--metrics", default="offline")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    items = [it for shard in folder_source(args.images, shard_size=64).shards for it in shard.items()][: args.count]
    jobs = [(args.codec, args.bpp, it.key, it.data, it.prompt) for it in items]

    start = time.perf_counter()
    serial = [encode_one(*job) for job in jobs]
    serial_s = time.perf_counter() - start
    with ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(encode_one, *zip(*jobs[:1], strict=True)))  # start the workers before timing
        start = time.perf_counter()
        pooled = list(pool.map(encode_one, *zip(*jobs, strict=True)))
        pooled_s = time.perf_counter() - start
    assert [r.get("bitstream") for r in serial] == [r.get("bitstream") for r in pooled], "pool changed the files"
    n = len(jobs)
    print(f"encode+decode {args.codec} @ {args.bpp:g} bpp, {n} images from {args.images}")
    print(f"  in-process (baseline): {n / serial_s:6.2f} img/s")
    print(f"  pool of {args.workers}:            {n / pooled_s:6.2f} img/s  ({serial_s / pooled_s:.2f}x the baseline)")

    ok = [(r, it) for r, it in zip(serial, items, strict=True) if r["status"] == "ok"]
    recs = [Image.open(io.BytesIO(r["png"])).convert("RGB") for r, _ in ok]
    refs = [load_rgb(it.data) for _, it in ok]
    scorer = Scorer(resolve_metrics(args.metrics), device=args.device, batch_size=args.batch_size)
    print(f"scoring {len(recs)} reconstructions on {scorer.device}, batch {args.batch_size}")
    for metric in scorer.image_metrics:
        start = time.perf_counter()
        scorer.score(recs, refs, only=[metric.name])
        print(f"  {metric.name:<10} {len(recs) / (time.perf_counter() - start):8.2f} img/s")


if __name__ == "__main__":
    main()
