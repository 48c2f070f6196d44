"""Peak memory and wall time of `aigi-scd compress` over a small and a large set of 1024² images, against the code
before the streaming compress (issue 11), in one run.

    python benchmarks/bench_compress_memory.py [--small 10] [--large 100] [--size 1024] [--codecs jpeg] \\
        [--bpp 0.5] [--metrics psnr,gmsd] [--workers N] [--baseline-commit 753c6b2 | --baseline PATH | --no-baseline]

Each run is the real command line (``python -m aigi_scd compress --images SET --out OUT``) in a fresh process,
with this checkout's code first on the path, then with the baseline's (by default a ``git worktree add`` of
--baseline-commit, main before issue 11, removed afterwards). Each code first runs once on the small set untimed
(disk caches, compiled bytecode), then the sets are timed with the two codes interleaved. Memory is sampled every
0.1 s over the command's whole process tree (the main process, the fork server, every worker): the peak of the
summed RSS (an upper bound: pages the workers share with their fork server count once per process), the peak
summed PSS (shared pages split among the processes that share them: what the tree costs the machine), and the
peak RSS of the largest single process, and the peak RSS of one process of each role (main, fork server,
worker). Printed:
seconds, seconds per image, those peaks, the large/small ratio of each, and the wall-time ratio of this code to
the baseline. The results rows of both codes are compared too (the same images, codec and metrics must give the
same bytes and scores).

Images: Kodak photographs (../shared/data/kodak), a 512² crop at a position drawn from the image's number,
upscaled to --size with Lanczos (smooth, like a diffusion model's output), written as PNG; smooth random images
when the Kodak folder is absent. The default codec (jpeg: the full-resolution JPEG at the highest quality that
fits) and the weight-free metrics keep 100 1024² images within minutes on two cores while every image still goes
through reading, encoding, decoding, scoring and the unit's tar at full size.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
KODAK = REPO.parent / "shared" / "data" / "kodak"
GB = 1e9


def make_images(folder: Path, count: int, size: int) -> Path:
    """`count` size×size PNGs in `folder` (made once; see the module docstring)."""
    if folder.is_dir() and len(list(folder.glob("*.png"))) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    paths = sorted(KODAK.glob("*.png"))
    for i in range(count):
        if paths:
            image = Image.open(paths[i % len(paths)]).convert("RGB")
            w, h = image.size
            rng = np.random.default_rng(i)  # a different crop each time the photographs come round again
            left, top = int(rng.integers(0, w - 512 + 1)), int(rng.integers(0, h - 512 + 1))
            crop = image.crop((left, top, left + 512, top + 512))
            picture = crop.resize((size, size), Image.Resampling.LANCZOS)
        else:
            small = np.random.default_rng(i).integers(0, 256, (size // 32, size // 32, 3), dtype=np.uint8)
            picture = Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)
        picture.save(folder / f"img{i:04d}.png", compress_level=1)
    return folder


def smaps_rollup(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in bytes, from /proc/PID/smaps_rollup (one cheap read; (0, 0) once it is gone)."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        pass
    return rss, pss


class TreeMemory(threading.Thread):
    """Samples the memory of a process and all its descendants until stopped; keeps the peaks: of the summed RSS,
    of the summed PSS, and of one process of each role (main, fork server, worker, other), RSS and PSS."""

    def __init__(self, pid: int, every: float = 0.1, pss_every: float | None = None):
        """Every `every` seconds the tree's processes and their CPU times (cheap: /proc/PID/stat); every `pss_every`
        (`every` unless given) their RSS and PSS, whose read walks a process's page tables: about 15 ms for one that
        imported torch and pyiqa (benchmarks/compress_throughput.py says what that costs a timed run)."""
        super().__init__(daemon=True)
        self.root, self.every = psutil.Process(pid), every
        self.pss_every = every if pss_every is None else pss_every
        self.own_cpu = 0.0  # CPU seconds this sampling thread spent (what the measurement took from the machine)
        self.rss = self.pss = 0
        self.by_role: dict[str, int] = {}  # peak RSS of one process of each role
        self.pss_by_role: dict[str, int] = {}  # peak PSS of one process of each role
        self.seen: set[int] = set()
        self.cpu_by_pid: dict[int, float] = {}  # the last user + system seconds seen of every process of the tree
        self.done = threading.Event()

    @property
    def cpu(self) -> float:
        """CPU seconds of the whole tree (each process as last sampled: at most one interval short per process)."""
        return sum(self.cpu_by_pid.values())

    @property
    def processes(self) -> int:
        return len(self.seen)

    def role(self, process: psutil.Process) -> str:
        if process.pid == self.root.pid:
            return "main"
        try:
            command = " ".join(process.cmdline())
            if "forkserver" in command:
                parent = process.parent()
                return "fork server" if parent is not None and parent.pid == self.root.pid else "worker"
            if "resource_tracker" in command:
                return "resource tracker"
        except psutil.Error:
            pass
        return "other"

    def run(self) -> None:
        roles: dict[int, str] = {}
        last_pss = -math.inf
        while not self.done.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            now = time.monotonic()
            memory = now - last_pss >= self.pss_every - 1e-3
            if memory:
                last_pss = now
            rss = pss = 0
            for process in processes:
                try:
                    times = process.cpu_times()
                    self.cpu_by_pid[process.pid] = times.user + times.system
                except psutil.Error:
                    continue
                self.seen.add(process.pid)
                if process.pid not in roles:
                    roles[process.pid] = self.role(process)
                if not memory:
                    continue
                one_rss, one_pss = smaps_rollup(process.pid)
                role = roles[process.pid]
                rss, pss = rss + one_rss, pss + one_pss
                self.by_role[role] = max(self.by_role.get(role, 0), one_rss)
                self.pss_by_role[role] = max(self.pss_by_role.get(role, 0), one_pss)
            self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
            self.own_cpu = time.thread_time()
            self.done.wait(self.every)


def run_compress(code: Path, images: Path, out: Path, args) -> dict:
    """One `aigi-scd compress` with `code` first on the path: wall seconds and memory peaks."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "aigi_scd", "compress", "--images", str(images), "--out", str(out)]
    command += ["--codecs", args.codecs, "--bpp", args.bpp, "--metrics", args.metrics, "--quiet"]
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    began = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=code)
    monitor = TreeMemory(process.pid)
    monitor.start()
    output, _ = process.communicate()
    seconds = time.perf_counter() - began
    monitor.done.set()
    monitor.join()
    if process.returncode != 0:
        sys.exit(f"compress failed with {code}:\n{output.decode()[-3000:]}")
    return {
        "seconds": seconds,
        "rss": monitor.rss,
        "pss": monitor.pss,
        "largest_rss": max(monitor.by_role.values(), default=0),
        "by_role": monitor.by_role,
        "pss_by_role": monitor.pss_by_role,
    }


def results(out: Path) -> pd.DataFrame:
    frame = pd.read_parquet(out / "benchmark" / "results.parquet")
    return frame.drop(columns=["encode_seconds", "decode_seconds"]).sort_values("key").reset_index(drop=True)


def baseline_checkout(args, work: Path) -> tuple[Path | None, bool]:
    """The baseline's code: --baseline, or a worktree of --baseline-commit made here (and removed at the end)."""
    if args.no_baseline:
        return None, False
    if args.baseline is not None:
        return args.baseline.resolve(), False
    folder = work / f"baseline-{args.baseline_commit}"
    if folder.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(folder), args.baseline_commit],
        check=True,
        capture_output=True,
    )
    return folder, True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=100)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--codecs", default="jpeg")
    parser.add_argument("--bpp", default="0.5")
    parser.add_argument("--metrics", default="psnr,gmsd")
    parser.add_argument("--workers", type=int, default=None, help="compress --workers [its default: one per core]")
    parser.add_argument("--baseline-commit", default="753c6b2", help="the code before issue 11 [753c6b2]")
    parser.add_argument("--baseline", type=Path, default=None, help="an existing checkout of the baseline instead")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "aigi-scd-bench-compress-memory")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    sets = {n: make_images(args.work / f"images-{n}-{args.size}", n, args.size) for n in (args.small, args.large)}
    baseline, made = baseline_checkout(args, args.work)
    codes = {"this code": REPO, **({"baseline": baseline} if baseline else {})}
    print(
        f"compress --codecs {args.codecs} --bpp {args.bpp} --metrics {args.metrics} over {args.size}x{args.size} "
        f"images; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
        + (f"; baseline: {args.baseline or args.baseline_commit}" if baseline else "")
    )
    measured: dict[tuple[str, int], dict] = {}
    try:
        for code in codes.values():  # warm-up, untimed
            run_compress(code, sets[args.small], args.work / "warm-up", args)
        for n, images in sets.items():
            for name, code in codes.items():
                measured[name, n] = run_compress(code, images, args.work / f"out-{name.replace(' ', '-')}-{n}", args)
                m = measured[name, n]
                print(
                    f"  {name:<10} {n:>4} images: {m['seconds']:7.1f} s  {m['seconds'] / n:6.2f} s/image  "
                    f"peak RSS (tree, summed) {m['rss'] / GB:5.2f} GB  peak PSS (tree) {m['pss'] / GB:5.2f} GB  "
                    f"largest process {m['largest_rss'] / GB:5.2f} GB",
                    flush=True,
                )
                roles = ", ".join(f"{role} {rss / GB:.2f}" for role, rss in sorted(m["by_role"].items()))
                print(f"{'':17}peak RSS of one process, by role (GB): {roles}", flush=True)
                roles = ", ".join(f"{role} {pss / GB:.2f}" for role, pss in sorted(m["pss_by_role"].items()))
                print(f"{'':17}peak PSS of one process, by role (GB): {roles}", flush=True)
    finally:
        if made:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline)], check=False)
    small, large = args.small, args.large
    print(f"\npeak memory, {large} images / {small} images:")
    for name in codes:
        a, b = measured[name, small], measured[name, large]
        print(
            f"  {name:<10} RSS (tree) {b['rss'] / a['rss']:.2f}x   PSS (tree) {b['pss'] / a['pss']:.2f}x   "
            f"largest process {b['largest_rss'] / a['largest_rss']:.2f}x   at {large}: {b['pss'] / GB:.2f} GB PSS, "
            f"{b['rss'] / GB:.2f} GB RSS summed, {b['largest_rss'] / GB:.2f} GB in the largest process"
        )
    if baseline:
        print("\nwall time, this code / baseline:")
        for n in (small, large):
            ours, theirs = measured["this code", n], measured["baseline", n]
            print(
                f"  {n:>4} images: {ours['seconds']:.1f} s / {theirs['seconds']:.1f} s = "
                f"{ours['seconds'] / theirs['seconds']:.2f}x ({theirs['seconds'] / ours['seconds']:.2f}x faster)"
            )
        ours = results(args.work / f"out-this-code-{large}")
        theirs = results(args.work / f"out-baseline-{large}")
        metric_columns = [c for c in ours.columns if c in args.metrics.split(",")]
        same_files = ours["bitstream_sha256"].equals(theirs["bitstream_sha256"])
        close = np.allclose(ours[metric_columns].to_numpy(float), theirs[metric_columns].to_numpy(float), rtol=1e-5)
        print(f"results rows at {large}: same bitstreams {same_files}; same scores (rtol 1e-5) {close}")


if __name__ == "__main__":
    main()
