"""Prompt generation and near-duplicate removal throughput (issue 3 targets: 10,000 generated in < 10 s,
near-duplicate removal of 10,000 in < 60 s, on 2 CPU cores).

    python benchmarks/bench_prompts.py                 # 10,000 prompts, 2 threads
    python benchmarks/bench_prompts.py -n 2000 --threads 4 --no-baseline

Near-duplicate removal is timed as a user meets it (aigi_scd.prompts.dedup.NearDuplicateFilter): embedding
every prompt with the bundled all-MiniLM-L6-v2 (bfloat16 screening where the CPU has it, float32
confirmation of pairs near the threshold) and the greedy similarity pass; loading the model is timed
apart. The baseline, measured in the same run, embeds every prompt in float32; its decisions must match.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--num-prompts", type=int, default=10_000)
    parser.add_argument("--suite", default="aigi-scd")
    parser.add_argument("--threshold", type=float, default=0.9, help="near-duplicate cosine threshold")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the targets are for 2 cores)")
    parser.add_argument("--repeats", type=int, default=3, help="generation repeats (best and median reported)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the float32 baseline")
    parser.add_argument("--json", dest="json_path", default=None, help="also write the results here")
    args = parser.parse_args(argv)

    import torch

    from aigi_scd.prompts.dedup import NearDuplicateFilter
    from aigi_scd.prompts.embed import embed, load_embedder
    from aigi_scd.prompts.sources import load_prompts

    torch.set_num_threads(args.threads)
    n = args.num_prompts
    results: dict = {
        "prompts": n,
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    print(
        f"aigi-scd prompt benchmark: {n} prompts from {args.suite!r}, {args.threads} torch threads, "
        f"{os.cpu_count()} CPUs, load average {results['load_average_at_start']}"
    )

    times = []
    for _ in range(args.repeats):
        began = time.perf_counter()
        prompts = load_prompts(args.suite, n, seed=0).prompts
        times.append(time.perf_counter() - began)
    assert len(prompts) == n == len({p.id for p in prompts})
    results["generate_seconds_best"] = min(times)
    results["generate_seconds_median"] = statistics.median(times)
    print(
        f"generate {n:>6}        best {min(times):7.2f} s  median {statistics.median(times):7.2f} s  "
        f"({n / min(times):,.0f} prompts/s)   target < 10 s"
    )

    texts = [p.text for p in prompts]
    began = time.perf_counter()
    load_embedder()
    results["model_load_seconds"] = time.perf_counter() - began
    print(f"load embedding model       {results['model_load_seconds']:7.2f} s")

    def dedup(precision: str) -> tuple[float, NearDuplicateFilter]:
        flt = NearDuplicateFilter(args.threshold, precision=precision)
        began = time.perf_counter()
        flt(prompts)
        return time.perf_counter() - began, flt

    embed(texts[:64])  # warm-up: first-call allocations are not throughput
    cpu_began = time.process_time()
    seconds, flt = dedup("auto")
    cpu = time.process_time() - cpu_began
    removed = len(flt.duplicates)
    results.update(
        precision=flt.precision,
        near_dup_seconds=seconds,
        near_dup_cpu_seconds=cpu,
        near_duplicates_removed=removed,
        confirmed_in_float32=flt.confirmed,
    )
    how = f"bfloat16 screening, {flt.confirmed} confirmed in float32" if flt.precision != "float32" else "float32"
    print(
        f"near-dup {n:>6}              {seconds:7.2f} s  ({how}; {removed} removed at cosine >= {args.threshold}; "
        f"CPU time {cpu:.1f} s)   target < 60 s"
    )
    print(f"  with model load            {seconds + results['model_load_seconds']:7.2f} s")

    if not args.no_baseline and flt.precision != "float32":
        base, base_flt = dedup("float32")
        same = [d.removed.id for d in base_flt.duplicates] == [d.removed.id for d in flt.duplicates]
        results.update(baseline_float32_seconds=base, baseline_same_decisions=same)
        print(
            f"near-dup {n:>6} float32      {base:7.2f} s  baseline (every prompt in float32), same run: "
            f"{base / seconds:.2f}x the time; {'identical' if same else 'DIFFERENT'} decisions"
        )
    if args.json_path:
        with open(args.json_path, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
