"""A build killed with SIGKILL at an arbitrary point resumes to exactly the uninterrupted result
(issue 2 acceptance 4)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import TINY_MODELS
from test_build import pngs

ARGS = [
    "build",
    "--models",
    TINY_MODELS,
    "--num-prompts",
    "5",
    "--seed",
    "3",
    "--shard-size",
    "2",
    "--batch-size",
    "2",
    "--quiet",
]


def start(out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "aigi_scd", *ARGS, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )


def test_sigkill_mid_build_then_rerun_equals_uninterrupted(tmp_path):
    reference = tmp_path / "reference"
    assert start(reference).wait(timeout=600) == 0

    killed = tmp_path / "killed"
    proc = start(killed)
    deadline = time.monotonic() + 600
    # Kill once the first shard is complete and the second is under way: mid-model, mid-build.
    while not (killed / "data" / "tiny-sdxl" / "00000.stats.json").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    partial = pngs(killed)
    assert 0 < len(partial) < 10  # the kill really left work undone

    assert start(killed).wait(timeout=600) == 0
    assert pngs(killed) == pngs(reference)
    assert len(pngs(reference)) == 10
    assert not list(killed.rglob("*.tmp"))
    stats = sorted(p.name for p in (killed / "data" / "tiny-pixart").glob("*.stats.json"))
    assert stats == ["00000.stats.json", "00001.stats.json", "00002.stats.json"]
