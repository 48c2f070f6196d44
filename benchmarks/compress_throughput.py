"""README's Kodak `compress` example with this code and with the code before issue 22, in one run: wall time, CPU
of the whole process tree, peak PSS of the tree, and whether both wrote the same bitstreams.

    python benchmarks/compress_throughput.py [--kodak ../shared/data/kodak] [--baseline-commit 1ee5040] \\
        [--codecs misc-offline,thumb-avif,avif,webp,jpeg] [--bpp 0.02,0.03,0.05] [--metrics offline] \\
        [--count 24] [--passes 1] [--workers N] [--pss-every 1.0] [--baseline PATH | --no-baseline]

Each run is the real command line (``aigi-scd compress --images KODAK --codecs ... --out OUT``) in a fresh process
of this venv, with one code first on PYTHONPATH: this checkout, or a ``git worktree add`` of --baseline-commit (the
code before issue 22 by default; removed afterwards). The old code's dependencies are a subset of this venv's. The
child prints ``aigi_scd.__file__`` before it starts, and the benchmark refuses a run that imported the other
checkout's package. Both codes first run once, untimed, on two small images (imports and disk caches warm), then
the timed runs alternate (baseline, this code; --passes times), so a burst of load elsewhere falls on both.

Measured per run: wall seconds; CPU seconds of the whole tree (user + system of the command and every process it
started, each sampled every 0.2 s until it ends, so at most 0.2 s short per process; ``wait4``'s figure when that
is larger: workers are not always reaped into the command's rusage); the peak
of the tree's summed PSS (``/proc/PID/smaps_rollup``, every --pss-every seconds: shared pages split among the
processes that share them), with each process role's peak (``bench_compress_memory.TreeMemory``); the CPU the
sampling itself took; the load average before and after. Compared: the sha256 of every bitstream, and the status
of every row, per (codec, target, image).

A read of smaps_rollup walks the process's page tables: about 15 ms for a process that imported torch and pyiqa.
Read every 0.2 s, the sampling took 18.6–21.8 s of CPU from a 90–140 s run of this code on the 2-core machine it
timed (4.7–7.4 s reading PSS once a second), so PSS is read once a second by default: a worker's peak while it
scores an image lasts longer than that.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_compress_memory import GB, TreeMemory, baseline_checkout
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
KODAK = REPO.parent / "shared" / "data" / "kodak"
CHILD = (
    "import sys, aigi_scd; print('aigi_scd imported from', aigi_scd.__file__, flush=True); "
    "from aigi_scd.cli import main; main(sys.argv[1:])"
)


def images(args, work: Path) -> Path:
    """--kodak itself, or its first --count images linked into a folder."""
    paths = sorted(args.kodak.glob("*.png"))
    if not paths:
        sys.exit(f"no PNG images in {args.kodak}; give --kodak")
    if args.count >= len(paths):
        return args.kodak
    folder = work / f"kodak-{args.count}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in paths[: args.count]:
        (folder / path.name).symlink_to(path.resolve())
    return folder


def warm_up_images(work: Path) -> Path:
    folder = work / "warm-up-images"
    folder.mkdir(parents=True, exist_ok=True)
    for i, path in enumerate(sorted(KODAK.glob("*.png"))[:2]):
        Image.open(path).convert("RGB").crop((0, 0, 256, 256)).save(folder / f"w{i}.png")
    if not any(folder.iterdir()):
        Image.new("RGB", (256, 256), (90, 120, 150)).save(folder / "w0.png")
    return folder


def run(code: Path, folder: Path, out: Path, args, codecs: str, bpp: str, metrics: str) -> dict:
    """One compress with `code` first on the path; its wall, tree CPU, memory and load."""
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-c", CHILD, "compress", "--images", str(folder), "--out", str(out)]
    command += ["--codecs", codecs, "--bpp", bpp, "--metrics", metrics, "--quiet"]
    if args.workers is not None:
        command += ["--workers", str(args.workers)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    log = out.with_suffix(".log")
    load_before = os.getloadavg()[0]
    with open(log, "wb") as output:
        began = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=code)
        monitor = TreeMemory(process.pid, every=0.2, pss_every=args.pss_every)
        monitor.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - began
    monitor.done.set()
    monitor.join()
    text = log.read_text(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"compress failed with {code}:\n{text[-3000:]}")
    imported = next((line.split()[-1] for line in text.splitlines() if line.startswith("aigi_scd imported from")), "")
    if not Path(imported).resolve().is_relative_to(code.resolve()):
        sys.exit(f"the run meant for {code} imported aigi_scd from {imported!r}")
    return {
        "seconds": seconds,
        # sampled per process (pool workers are not always reaped into the command's own rusage), or wait4's
        "cpu": max(monitor.cpu, usage.ru_utime + usage.ru_stime),
        "pss": monitor.pss,
        "by_role": monitor.pss_by_role,
        "processes": monitor.processes,
        "sampling_cpu": monitor.own_cpu,
        "load": (load_before, os.getloadavg()[0]),
        "files": bitstreams(out),
    }


def bitstreams(out: Path) -> dict[str, str]:
    """(config/key) → the bitstream's sha256, or the row's status when there is no file (unreachable, error)."""
    from aigi_scd.dataset.shards import iter_samples

    found = {}
    for stats in sorted((out / "compressed").glob("*/*.stats.json")):
        for row in json.loads(stats.read_text())["rows"]:
            found[f"{stats.parent.name}/{row['key']}"] = row["status"]
    for tar in sorted((out / "compressed").glob("*/*.tar")):
        for sample in iter_samples(tar):
            found[f"{tar.parent.name}/{sample['__key__']}"] = hashlib.sha256(sample["bitstream"]).hexdigest()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kodak", type=Path, default=KODAK, help="the Kodak folder [../shared/data/kodak]")
    parser.add_argument("--codecs", default="misc-offline,thumb-avif,avif,webp,jpeg")
    parser.add_argument("--bpp", default="0.02,0.03,0.05")
    parser.add_argument("--metrics", default="offline")
    parser.add_argument("--count", type=int, default=24, help="the first N images of --kodak [all 24]")
    parser.add_argument("--passes", type=int, default=1, help="timed runs of each code, alternating [1]")
    parser.add_argument("--workers", type=int, default=None, help="compress --workers [its default: one per core]")
    parser.add_argument(
        "--pss-every", type=float, default=1.0, help="seconds between reads of the tree's PSS (CPU: every 0.2 s) [1.0]"
    )
    parser.add_argument("--baseline-commit", default="1ee5040", help="the code before issue 22 [1ee5040]")
    parser.add_argument("--baseline", type=Path, default=None, help="an existing checkout of the baseline instead")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "aigi-scd-compress-throughput")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    folder = images(args, args.work)
    baseline, made = baseline_checkout(args, args.work)
    codes = {**({"baseline": baseline} if baseline else {}), "this code": REPO}
    print(
        f"compress --images {folder} --codecs {args.codecs} --bpp {args.bpp} --metrics {args.metrics}; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}"
        + (f"; baseline: {args.baseline or args.baseline_commit}" if baseline else ""),
        flush=True,
    )
    measured: dict[str, list[dict]] = {name: [] for name in codes}
    try:
        warm = warm_up_images(args.work)
        for name, code in codes.items():
            run(code, warm, args.work / f"warm-up-{name.replace(' ', '-')}", args, "jpeg", "1", "psnr")
        for p in range(args.passes):
            for name, code in codes.items():
                m = run(code, folder, args.work / f"out-{name.replace(' ', '-')}-{p}", args, args.codecs, args.bpp,
                        args.metrics)  # fmt: skip
                measured[name].append(m)
                roles = ", ".join(f"{role} {pss / GB:.2f}" for role, pss in sorted(m["by_role"].items()))
                print(
                    f"  {name:<10} pass {p + 1}: wall {m['seconds']:7.1f} s  CPU (tree) {m['cpu']:7.1f} s  "
                    f"peak PSS (tree) {m['pss'] / GB:.2f} GB  [{roles}]  {m['processes']} processes  "
                    f"sampling CPU {m['sampling_cpu']:.1f} s  "
                    f"load {m['load'][0]:.2f} → {m['load'][1]:.2f}",
                    flush=True,
                )
    finally:
        if made:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline)], check=False)
    print("\n| code | wall s | CPU s (tree) | peak PSS (tree) GB | load average (start → end) |\n|---|---|---|---|---|")
    for name, runs in measured.items():
        for m in runs:
            print(
                f"| {name} | {m['seconds']:.1f} | {m['cpu']:.1f} | {m['pss'] / GB:.2f} | "
                f"{m['load'][0]:.2f} → {m['load'][1]:.2f} |"
            )
    if baseline:
        ours, theirs = measured["this code"], measured["baseline"]
        wall = [t["seconds"] / o["seconds"] for o, t in zip(ours, theirs, strict=True)]
        cpu = [t["cpu"] / o["cpu"] for o, t in zip(ours, theirs, strict=True)]
        ratios = f"wall {', '.join(f'{r:.2f}x' for r in wall)}; CPU {', '.join(f'{r:.2f}x' for r in cpu)}"
        print(f"\nbaseline / this code: {ratios}")
        a, b = theirs[0]["files"], ours[0]["files"]
        differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        files = sum(1 for v in a.values() if len(v) == 64)
        print(
            f"same bitstreams and statuses: {not differ} ({len(a)} rows, {files} files"
            + (f"; {len(differ)} differ, e.g. {differ[:3]})" if differ else ")")
        )


if __name__ == "__main__":
    main()
