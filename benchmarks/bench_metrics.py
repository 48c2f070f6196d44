"""Seconds per megapixel and agreement of every offline metric: pyiqa against the faster well-kept implementations.

    python benchmarks/bench_metrics.py [--images ../shared/data/kodak] [--count 6] [--repeat 2] [--memory-size 1024]

Pairs: each Kodak photograph against two low-bitrate reconstructions of it (JPEG at quality 5, and a 4× Lanczos
thumbnail upscaled back, what thumb-avif and misc-offline decode to), as float tensors in [0, 1] exactly as
`compress` scores them; an implementation that computes the original's side once per image does so for every second
pair (compress scores 6–7 reconstructions per Kodak image). Each implementation runs on one thread (as a compress
worker does), best of --repeat passes, and its values are compared with pyiqa's (largest absolute difference over
the pairs). Also printed: the peak memory one call adds at --memory-size² (RSS sampled every 2 ms), which is what a
worker pays per metric.

Candidates: pytorch-msssim (float32, separable Gaussian window: what CompressAI's evaluation uses), piq, and
pyiqa's own functions fed float32 instead of the float64 its SSIM and MS-SSIM modules cast to. `compress` takes a
faster one only where its values agree with pyiqa's (see aigi_scd/bench/fast_metrics.py).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
KODAK = REPO.parent / "shared" / "data" / "kodak"

Metric = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def reconstructions(image: Image.Image) -> list[Image.Image]:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=5)
    jpeg = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    w, h = image.size
    thumb = image.resize((w // 4, h // 4), Image.Resampling.LANCZOS).resize((w, h), Image.Resampling.LANCZOS)
    return [jpeg, thumb]


def tensor(image: Image.Image) -> torch.Tensor:
    from aigi_scd.bench.metrics import images_to_tensor

    return images_to_tensor([image], "cpu")


def candidates() -> dict[str, dict[str, Metric]]:
    """Per metric: pyiqa (first, the reference) and the alternatives."""
    import piq
    import pyiqa
    import pytorch_msssim as pm
    from pyiqa.archs import ssim_arch
    from pyiqa.utils.color_util import to_y_channel

    from aigi_scd.bench import fast_metrics

    def py(name: str, **opts) -> Metric:
        net = pyiqa.create_metric(name, device="cpu", **opts)
        return lambda x, y: net(x, y) if net.metric_mode == "FR" else net(x)

    def nlpd_remembering() -> Metric:
        net = pyiqa.create_metric("nlpd", device="cpu")
        fast_metrics.remember_reference_side("nlpd", net)
        return lambda x, y: net(x, y)

    def y(x: torch.Tensor) -> torch.Tensor:
        return to_y_channel(x, 255)  # pyiqa's Y (YIQ), rounded at 8 bits, as its SSIM modules read it

    return {
        "psnr": {"pyiqa": py("psnr")},
        "ssim (Y)": {
            "pyiqa": py("ssim"),
            "pyiqa's formula, float32, two 11-tap passes, the original's side once": fast_metrics.ssim_y,
            "pytorch-msssim": lambda a, b: pm.ssim(y(a), y(b), data_range=255, size_average=False),
        },
        "ms_ssim (RGB)": {
            "pyiqa": py("ms_ssim", test_y_channel=False),
            "pytorch-msssim": lambda a, b: pm.ms_ssim(
                (a * 255).round(), (b * 255).round(), data_range=255, size_average=False
            ),
            "pytorch-msssim step for step, the original's side once": fast_metrics.ms_ssim_rgb,
            "piq": lambda a, b: piq.multi_scale_ssim(a, b, data_range=1.0, reduction="none"),
        },
        "ms_ssim (Y)": {
            "pyiqa": py("ms_ssim"),
            "pyiqa float32": lambda a, b: ssim_arch.ms_ssim(y(a), y(b), data_range=255),
            "pytorch-msssim": fast_metrics.ms_ssim_y,
        },
        "gmsd": {
            "pyiqa": py("gmsd"),
            "pyiqa, the original's side once per image": fast_metrics.gmsd,
            "piq": lambda a, b: piq.gmsd(a, b, data_range=1.0, reduction="none"),
        },
        "fsim": {
            "pyiqa": py("fsim"),
            "pyiqa, the original's side once per image": fast_metrics.fsim,
            "piq": lambda a, b: piq.fsim(a, b, data_range=1.0, reduction="none"),
        },
        "vsi": {"pyiqa": py("vsi"), "piq": fast_metrics.vsi},
        "nlpd": {"pyiqa": py("nlpd"), "pyiqa, the original's pyramid once per image": nlpd_remembering()},
        "piqe": {"pyiqa": py("piqe")},
    }


def best_seconds(fn: Metric, pairs, repeat: int) -> tuple[float, list[float]]:
    best, values = float("inf"), []
    for _ in range(repeat):
        start = time.perf_counter()
        with torch.no_grad():
            values = [float(fn(rec, ref).reshape(-1)[0]) for rec, ref in pairs]
        best = min(best, time.perf_counter() - start)
    return best, values


def peak_extra_rss(fn: Metric, rec: torch.Tensor, ref: torch.Tensor) -> float:
    """Peak RSS one call adds, in bytes: measured in a child forked before this process has run any metric (so
    no allocator cache from an earlier call hides the cost), RSS sampled every 2 ms."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: one call, its peak over its own starting RSS, through the pipe
        os.close(read)
        process = psutil.Process()
        base = process.memory_info().rss
        peak, done = [base], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], process.memory_info().rss)
                time.sleep(0.002)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        with torch.no_grad():
            fn(rec, ref)
        done.set()
        thread.join()
        os.write(write, str(max(peak[0], process.memory_info().rss) - base).encode())
        os._exit(0)
    os.close(write)
    data = os.read(read, 64)
    os.close(read)
    os.waitpid(pid, 0)
    return float(data or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=KODAK)
    parser.add_argument("--count", type=int, default=6, help="originals (two reconstructions each)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--memory-size", type=int, default=1024, help="side of the square pair for the memory column")
    parser.add_argument("--only", default=None, help="comma-separated metric rows to run (e.g. 'ms_ssim (RGB),vsi')")
    args = parser.parse_args()
    torch.set_num_threads(1)

    paths = sorted(args.images.glob("*.png"))[: args.count]
    pairs = []
    for path in paths:
        original = Image.open(path).convert("RGB")
        reference = tensor(original)  # one tensor per original, as compress's Scorer passes it for each reconstruction
        pairs += [(tensor(rec), reference) for rec in reconstructions(original)]
    megapixels = sum(ref.shape[-1] * ref.shape[-2] for _, ref in pairs) / 1e6
    big = Image.open(paths[0]).convert("RGB").resize((args.memory_size,) * 2, Image.Resampling.LANCZOS)
    big_pair = (tensor(reconstructions(big)[1]), tensor(big))
    print(
        f"{len(pairs)} pairs ({megapixels:.2f} MP) from {args.images}; one thread; best of {args.repeat}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"| metric | implementation | s/MP | × pyiqa | max abs diff | peak extra RSS at {args.memory_size}² |")
    print("|---|---|---|---|---|---|")
    only = None if args.only is None else {s.strip() for s in args.only.split(",")}
    chosen = {m: impls for m, impls in candidates().items() if only is None or m in only}
    # memory first, each call in a child forked from a process that has not run a metric yet
    memory = {(m, name): peak_extra_rss(fn, *big_pair) for m, impls in chosen.items() for name, fn in impls.items()}
    for metric, impls in chosen.items():
        reference = None
        for name, fn in impls.items():
            seconds, values = best_seconds(fn, pairs, args.repeat)
            if reference is None:
                reference = (seconds, np.array(values))
                speed, diff = "1", "—"
            else:
                speed = f"{reference[0] / seconds:.1f}"
                diff = f"{np.max(np.abs(np.array(values) - reference[1])):.2e}"
            print(
                f"| {metric} | {name} | {seconds / megapixels:.2f} | {speed} | {diff} | "
                f"{memory[metric, name] / 1e6:.0f} MB |",
                flush=True,
            )


if __name__ == "__main__":
    main()
