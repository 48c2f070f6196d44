"""An encode worker gives the heap an image's encodes and scores freed back to the system when the image ends,
so a worker's resident memory does not keep a 1024² image's peak between images (issue 22's memory target)."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import kodak_dir

# In a fresh interpreter: one image's encodes and scores, then how much a malloc_trim of our own still gives back.
PROBE = """
import ctypes, json, sys
import psutil
from aigi_scd.bench import encode_worker

data = open(sys.argv[1], "rb").read()
jobs = [(codec, target) for codec in ("misc-offline", "thumb-avif") for target in (0.02, 0.05)]
results = encode_worker.encode_image(jobs, "kodim01", data, None, (("ssim", "ms_ssim"), ""))
statuses = [r["status"] for r in results]
del results
process = psutil.Process()
before = process.memory_info().rss
ctypes.CDLL(None).malloc_trim(0)
print(json.dumps({"statuses": statuses, "left_to_give_back": before - process.memory_info().rss}))
"""


def test_an_image_s_encodes_and_scores_leave_no_freed_heap_for_the_system_to_take_back():
    """Without the trim at the end of encode_image this image leaves about 58 MB of freed heap resident
    (1 MB with it, the reconstructions' PNG bytes the probe itself drops); at 1024² it is 240-300 MB."""
    original = kodak_dir() / "kodim01.png"
    done = subprocess.run([sys.executable, "-c", PROBE, str(original)], capture_output=True, text=True, check=True)
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["statuses"].count("ok") >= 2, probe
    assert probe["left_to_give_back"] < 8 * 2**20, f"{probe['left_to_give_back'] / 2**20:.1f} MB freed but kept"
