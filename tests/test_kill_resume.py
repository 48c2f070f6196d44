"""A build killed with SIGKILL at an arbitrary point resumes to exactly the uninterrupted result
(issue 2 acceptance 4)."""

from __future__ import annotations

import signal
from pathlib import Path

from conftest import TINY_MODELS
from forked_cli import run, start, wait_for
from test_build import pngs

# Two models, three prompts each, two images per shard: the kill lands after the first model's first shard.
ARGS = ["build", "--models", TINY_MODELS, "--num-prompts", 3, "--seed", 3, "--shard-size", 2, "--batch-size", 2]
ARGS += ["--quiet"]


def build(out: Path) -> None:
    code, output = run([*ARGS, "--out", out], out.parent / f"{out.name}.log")
    assert code == 0, output


def test_sigkill_mid_build_then_rerun_equals_uninterrupted(tmp_path):
    """Each run is a real `aigi-scd build` process (forked from a server that has imported the libraries)."""
    reference = tmp_path / "reference"
    build(reference)

    killed = tmp_path / "killed"
    running = start([*ARGS, "--out", killed], tmp_path / "killed-first.log")
    # Kill once the first shard is complete and the second is under way: mid-model, mid-build.
    wait_for(killed / "data" / "tiny-sdxl" / "00000.stats.json", running)
    running.kill(signal.SIGKILL)
    assert running.wait() == -signal.SIGKILL
    partial = pngs(killed)
    assert 0 < len(partial) < 6  # the kill really left work undone

    build(killed)
    assert pngs(killed) == pngs(reference)
    assert len(pngs(reference)) == 6
    assert not list(killed.rglob("*.tmp"))
    stats = sorted(p.name for p in (killed / "data" / "tiny-pixart").glob("*.stats.json"))
    assert stats == ["00000.stats.json", "00001.stats.json"]
