"""`--device auto` picks what torch would pick, and on a machine with no GPU device node it does so without
importing torch (compress's main process then never carries it)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from aigi_scd.weights.device import no_gpu_here, pick_device
certain = no_gpu_here()
picked = pick_device("auto")
imported = "torch" in sys.modules
import torch
mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
print(certain, picked, imported, "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu")
"""


def test_auto_device_is_torchs_choice_and_needs_no_torch_where_there_is_no_gpu():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    certain, picked, imported, torch_choice = result.stdout.split()
    assert picked == torch_choice
    if certain == "True":
        assert picked == "cpu" and imported == "False"
    else:
        assert imported == "True"


def test_an_explicit_cpu_device_needs_no_torch_and_a_bad_one_is_named():
    probe = (
        "import sys\nfrom aigi_scd.weights.device import pick_device\nfrom aigi_scd.errors import ConfigError\n"
        "print(pick_device('cpu'), 'torch' in sys.modules)\n"
        "try:\n    pick_device('tpu')\nexcept ConfigError as exc:\n    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    first, message = result.stdout.splitlines()
    assert first == "cpu False"
    assert "--device 'tpu'" in message and "auto, cpu, cuda" in message
