"""The host (CPU) side of a build alone, on 1024² images: the sequential path against the worker pool.

    python benchmarks/bench_host.py [--images 32] [--size 1024] [--workers N] [--preset offline] [--build gpu|cpu|both]
        [--repeat 5] [--encoders]

What one generated image costs the CPU in `aigi-scd build` (its PNG, the PNG's sha256, the per-image filters of
the preset that run on the host and the shard steps' features: aigi_scd/build/host_work.py), done once in this
process one image after another (what the build did before the engine, and what `--workers 0` does; torch keeps
its default threads, as it did there) and once through the build's own worker pool (aigi_scd/weights/workers.py,
the fork server included). Prints images/s, the pool's speed-up, and core-seconds per image (CPU time of every
process involved over the images). Each path runs --repeat passes, the two alternating pass by pass, and the best
pass of each counts: on a shared machine other processes' load only ever slows a pass down, and alternating lets a
burst of it fall on both paths rather than on one.

Which filters are host work depends on the build's device (FilterChain.host_filters): a GPU build runs filters
with models (the offline preset's PIQE) on the GPU, so its host side is the PNG, the hash and the weight-free
filters; a CPU build runs every filter on the host. `--build both` measures the two.

`--encoders` also times the lossless PNG encoders the stored format could use (one core, per image): Pillow at
levels 6 (its default), 1 and with zlib's RLE strategy, against the chosen one (aigi_scd/dataset/png.py).

Images: Kodak photographs, a 512² centre crop upscaled to --size with Lanczos (smooth, like a diffusion
model's output), or smooth random images when the Kodak folder is absent.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path

import numpy as np
import psutil
from PIL import Image

from aigi_scd.build.host_work import HostPlan, HostWork, process_image, start_worker
from aigi_scd.dataset.png import PNG_ENCODER, encode_png
from aigi_scd.filters.preset import load_filter_preset
from aigi_scd.weights.workers import default_workers, process_pool

KODAK = Path(__file__).resolve().parents[2] / "shared" / "data" / "kodak"


def images(n: int, size: int) -> list[np.ndarray]:
    paths = sorted(KODAK.glob("*.png"))
    out = []
    for i in range(n):
        if paths:
            im = Image.open(paths[i % len(paths)]).convert("RGB")
            w, h = im.size
            crop = im.crop(((w - 512) // 2, (h - 512) // 2, (w + 512) // 2, (h + 512) // 2))
            out.append(np.asarray(crop.resize((size, size), Image.Resampling.LANCZOS)))
        else:
            small = np.random.default_rng(i).integers(0, 256, (size // 32, size // 32, 3), dtype=np.uint8)
            out.append(np.asarray(Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)))
    return out


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def timed(processes: list[psutil.Process], one_pass) -> tuple[float, float]:
    """One run of `one_pass`: (wall seconds, CPU seconds of `processes`)."""
    cpu0, t0 = cpu_seconds(processes), time.perf_counter()
    one_pass()
    return time.perf_counter() - t0, cpu_seconds(processes) - cpu0


def compare(plan: HostPlan, pixels: list[np.ndarray], workers: int, repeat: int) -> dict[str, tuple[float, float]]:
    """The sequential path and the pool, `repeat` passes each, alternating pass by pass so that a burst of load
    from elsewhere on a shared machine falls on both; the best pass of each counts (load only ever slows a pass
    down). Returns path → (wall seconds, CPU seconds); the pool's CPU is this process's and its workers'."""
    work = HostWork(plan)
    work("warm-up", pixels[0], None, None)  # models of CPU filters load on first use: not timed
    pool = process_pool(workers, start_worker, (plan,), plan.preload())
    try:
        warm = [f"w{i}" for i in range(workers)]
        list(pool.map(process_image, warm, pixels[:workers], [None] * workers, [None] * workers))
        procs = [psutil.Process(pid) for pid in pool._processes]  # the pool's own workers, for their CPU time

        def sequential() -> None:
            for i, p in enumerate(pixels):
                work(f"img{i}", p, None, None)

        def pooled() -> None:
            futures = [pool.submit(process_image, f"img{i}", p, None, None) for i, p in enumerate(pixels)]
            for future in futures:  # in order, as the shard writer takes them
                future.result()

        passes: dict[str, list[tuple[float, float]]] = {"sequential": [], "pool": []}
        for _ in range(repeat):
            passes["sequential"].append(timed([psutil.Process()], sequential))
            passes["pool"].append(timed([psutil.Process(), *procs], pooled))
        return {path: min(runs) for path, runs in passes.items()}
    finally:
        pool.shutdown()


def encoders(pixels: list[np.ndarray]) -> None:
    def pillow(**options):
        def encode(a):
            buffer = io.BytesIO()
            Image.fromarray(a).save(buffer, format="PNG", **options)
            return buffer.getvalue()

        return encode

    candidates = {
        "Pillow level 6 (its default)": pillow(compress_level=6),
        "Pillow level 1": pillow(compress_level=1),
        "Pillow level 6, RLE strategy": pillow(compress_level=6, compress_type=3),
        f"chosen: {PNG_ENCODER}": encode_png,
    }
    sample = pixels[: min(len(pixels), 8)]
    print(f"\nPNG encoders, one core, {len(sample)} images of {sample[0].shape[1]}x{sample[0].shape[0]}:")
    base_seconds = base_bytes = None
    for name, encode in candidates.items():
        encode(sample[0])
        t0 = time.process_time()
        sizes = [len(encode(a)) for a in sample]
        seconds = (time.process_time() - t0) / len(sample)
        size = sum(sizes) / len(sizes)
        base_seconds, base_bytes = base_seconds or seconds, base_bytes or size
        print(
            f"  {name:<75} {seconds:.3f} s/image  {size / 1e6:.3f} MB  "
            f"({base_seconds / seconds:.1f}x faster, {size / base_bytes:.3f}x the size of Pillow level 6)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--preset", default="offline", help="filter preset whose host part the workers run")
    parser.add_argument("--build", choices=["gpu", "cpu", "both"], default="both", help="the build's device")
    parser.add_argument("--encoders", action="store_true", help="also compare the PNG encoders")
    parser.add_argument("--repeat", type=int, default=5, help="passes of each path, alternating; the best counts [5]")
    args = parser.parse_args()

    pixels = images(args.images, args.size)
    chain = load_filter_preset(args.preset)
    n = args.images
    print(f"{n} images of {args.size}x{args.size}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for build in ["gpu", "cpu"] if args.build == "both" else [args.build]:
        plan = HostPlan.for_chain(chain, "cuda" if build == "gpu" else "cpu")
        names = ", ".join(f.name for f in chain.filters[: plan.filters])
        features = " + shard-step features" if plan.features else ""
        print(f"\nhost side of a {build.upper()} build: PNG + sha256 + {plan.filters} filters ({names}){features}")
        best = compare(plan, pixels, args.workers, args.repeat)
        (seq_wall, seq_cpu), (pool_wall, pool_cpu) = best["sequential"], best["pool"]
        print(f"  sequential (one process):  {n / seq_wall:6.2f} images/s  {seq_cpu / n:.3f} core-s/image")
        pool_name = f"pool of {args.workers} workers:"
        print(f"  {pool_name:<26} {n / pool_wall:6.2f} images/s  {pool_cpu / n:.3f} core-s/image")
        print(f"  pool / sequential: {seq_wall / pool_wall:.2f}x")
    if args.encoders:
        encoders(pixels)


if __name__ == "__main__":
    main()
