"""How busy README's Kodak `compress` keeps the machine while it starts: the CPU seconds its whole process tree has
used, and the images it has finished, after its first --seconds, with this code and with a baseline commit,
alternating.

    python benchmarks/compress_start.py --baseline-commit COMMIT [--seconds 16] [--pairs 3] \\
        [--kodak ../shared/data/kodak]

Why: the pool's first ``submit`` waits while the fork server imports torch and pyiqa (4–6 s at one core). A start
that leaves the other core idle then shows as fewer CPU seconds in the same wall time; a whole run's wall time on
this 2-core machine varies by 10% between runs, far more than a start can gain, so the start is measured on its own.
Each trial is the real command line in a fresh process of this venv with one code first on PYTHONPATH (this
checkout, or a ``git worktree add`` of --baseline-commit, removed afterwards), stopped with SIGKILL after --seconds.
CPU: user + system of every process of the tree, sampled every 0.25 s. Finished: the journal parts on disk (one per
image, codec and target).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_compress_memory import TreeMemory, baseline_checkout
from compress_throughput import CHILD, KODAK, REPO


def trial(code: Path, args, out: Path) -> tuple[float, int]:
    """One start of compress with `code`: the tree's CPU seconds and the parts finished after --seconds."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-c", CHILD, "compress", "--images", str(args.kodak), "--out", str(out)]
    command += ["--codecs", args.codecs, "--bpp", args.bpp, "--metrics", args.metrics, "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(code)}
    process = subprocess.Popen(command, env=env, cwd=code, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)  # fmt: skip
    monitor = TreeMemory(process.pid, every=0.25, pss_every=math.inf)  # CPU times only (PSS once, at the start)
    monitor.start()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=args.seconds)
    monitor.done.set()
    monitor.join()
    parts = len(list((out / "compressed").glob("*/*.partial/*.part")))
    finished = process.poll() is not None
    os.killpg(process.pid, signal.SIGKILL)  # the pool's fork server and workers too
    process.wait()
    if finished:
        sys.exit(f"compress ended within {args.seconds} s: give fewer --seconds")
    return monitor.cpu, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-commit", required=True)
    parser.add_argument("--seconds", type=float, default=16.0)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--kodak", type=Path, default=KODAK)
    parser.add_argument("--codecs", default="misc-offline,thumb-avif,avif,webp,jpeg")
    parser.add_argument("--bpp", default="0.02,0.03,0.05")
    parser.add_argument("--metrics", default="offline")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "aigi-scd-compress-start")
    args = parser.parse_args()
    args.baseline, args.no_baseline = None, False
    args.work.mkdir(parents=True, exist_ok=True)
    baseline, made = baseline_checkout(args, args.work)
    codes = {f"baseline {args.baseline_commit}": baseline, "this code": REPO}
    print(f"the first {args.seconds:g} s of compress --images {args.kodak} --codecs {args.codecs} --bpp {args.bpp} "
          f"--metrics {args.metrics}; {os.cpu_count()} cores", flush=True)  # fmt: skip
    try:
        for pair in range(args.pairs):
            for name, code in codes.items():
                cpu, parts = trial(code, args, args.work / "out")
                print(f"  pair {pair + 1}  {name:<20} CPU (tree) {cpu:5.1f} s  finished parts {parts}", flush=True)
    finally:
        shutil.rmtree(args.work / "out", ignore_errors=True)
        if made:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline)], check=False)


if __name__ == "__main__":
    main()
