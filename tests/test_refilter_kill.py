"""`aigi-scd filter` killed with SIGKILL mid-way leaves the old dataset whole and loadable; the rerun
resumes its staging and ends where an uninterrupted run ends."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import datasets
from conftest import REPO, run_cli
from test_filters_shard_steps import samples
from test_refilter import files

from aigi_scd.build.refilter import refilter
from aigi_scd.dataset.swap import JOURNAL, STAGING
from aigi_scd.filters.preset import load_filter_preset


def test_sigkill_mid_filter_then_rerun_equals_uninterrupted(tmp_path):
    built = tmp_path / "built"
    run_cli("build", "--models", "tiny-sdxl", "--num-prompts", 6, "--shard-size", 1, "--out", built, "--quiet")
    preset = tmp_path / "strict.yaml"  # rejects about half of tiny-sdxl's images (PIQE ≈ 40-46)
    preset.write_text((REPO / "filters" / "offline.yaml").read_text().replace("threshold: null", "threshold: 43.0"))
    reference = tmp_path / "reference"
    shutil.copytree(built, reference)
    refilter(reference, load_filter_preset(str(preset)), progress=False)

    killed = tmp_path / "killed"
    shutil.copytree(built, killed)
    before = files(killed)
    command = [sys.executable, "-m", "aigi_scd", "filter", str(killed), "--preset", str(preset), "--quiet"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
    first = killed / STAGING / "data" / "tiny-sdxl" / "00000.stats.json"
    deadline = time.monotonic() + 300
    while not first.exists():  # kill once the first shard is staged and the others are under way
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (killed / STAGING / JOURNAL).exists(), "the run got to its swap before the kill"
    assert {k: v for k, v in files(killed).items() if not k.startswith(STAGING)} == before
    assert datasets.load_dataset(str(killed), split="train").num_rows == 6

    result = run_cli("filter", killed, "--preset", preset, "--quiet")
    assert "shards resumed from an interrupted run" in result.output
    assert samples(killed) == samples(reference)
    manifests = [json.loads((out / "build.json").read_text()) for out in (killed, reference)]
    assert [{k: v for k, v in m.items() if k != "filter_commands"} for m in manifests] == [
        {k: v for k, v in manifests[1].items() if k != "filter_commands"}
    ] * 2
    kept = sum(1 for _, meta in samples(reference).values() if meta["verdict"] == "keep")
    assert 0 < kept < 6 and datasets.load_dataset(str(killed), split="train").num_rows == kept
