"""An encode worker keeps nothing of an image once its work ends: the metrics forget what they remembered of its
original, and the heap its encodes and scores freed goes back to the system, so a worker does not carry one 1024²
image's memory into the next (issue 22's memory target: the tree's peak PSS within 2 GB)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import kodak_dir

from aigi_scd.bench.metrics import PRESETS

# In a fresh interpreter: one image's encodes and scores; then how much a malloc_trim of our own still gives back,
# and the bytes of every tensor still alive (measured second: listing every object allocates and frees 20 MB).
PROBE = """
import ctypes, gc, json, sys
import psutil, torch
from aigi_scd.bench import encode_worker

data = open(sys.argv[1], "rb").read()
jobs = [(codec, target) for codec in ("misc-offline", "thumb-avif") for target in (0.02, 0.05)]
results = encode_worker.encode_image(jobs, "kodim01", data, None, (tuple(sys.argv[2].split(",")), ""))
statuses = [r["status"] for r in results]
del results
process = psutil.Process()
before = process.memory_info().rss
ctypes.CDLL(None).malloc_trim(0)
left_to_give_back = before - process.memory_info().rss
gc.collect()
storages = {}
for obj in gc.get_objects():
    if isinstance(obj, torch.Tensor):
        storage = obj.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
tensor_bytes = sum(storages.values())
print(json.dumps({"statuses": statuses, "tensor_bytes": tensor_bytes, "left_to_give_back": left_to_give_back}))
"""
MB = 2**20


def test_an_image_s_work_leaves_neither_its_metrics_memory_nor_freed_heap_behind():
    """On kodim01 (768×512) through misc-offline and thumb-avif with the offline metrics: 10.5 MB of tensors stay
    (FSIM's filters for the size, kept on purpose; PIQE's planes) against 52 MB when the metrics keep the original's
    sides, and the process's own trim finds 1 MB to give back (the reconstructions the probe drops) against 58 MB
    without the trim at the end of encode_image."""
    original = kodak_dir() / "kodim01.png"
    metrics = ",".join(PRESETS["offline"])
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(original), metrics], capture_output=True, text=True, check=True
    )
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["statuses"].count("ok") >= 2, probe
    assert probe["tensor_bytes"] < 20 * MB, f"{probe['tensor_bytes'] / MB:.1f} MB of tensors kept after the image"
    assert probe["left_to_give_back"] < 8 * MB, f"{probe['left_to_give_back'] / MB:.1f} MB freed but kept"


# In a fresh interpreter, as a command starts its pool: a process has one fork server, started by the first pool
# (here, a test's own, such as tests/forked_cli.py's, would otherwise be the one a pool reused).
FROZEN_PROBE = """
import gc
from aigi_scd.weights.workers import process_pool

with process_pool(1, preload=("aigi_scd.bench.encode_worker",)) as pool:
    print(pool.submit(gc.get_freeze_count).result(timeout=120), gc.get_freeze_count())
"""


def test_a_worker_s_collector_leaves_its_fork_server_s_imports_alone():
    """What the fork server imported (the codecs, numpy, PIL: 28,000 objects; with torch, pyiqa, pytorch-msssim and
    piq when workers score, 380,000) is frozen before it forks a worker, so a worker's collections neither walk
    those objects nor copy their pages."""
    done = subprocess.run([sys.executable, "-c", FROZEN_PROBE], capture_output=True, text=True, check=True)
    worker, command = (int(n) for n in done.stdout.split()[-2:])
    assert worker > 10_000, worker
    assert command == 0  # the command's own process is left as it was
