"""Scale-out and the engine's safety nets (issue 11 acceptance 1-2): `torchrun --nproc_per_node 2 -m aigi_scd
build|compress` on CPU gives what one process gives; a rank killed mid-build is completed by a rerun with one
process; an out-of-memory on the first batch is survived with a smaller batch and the same samples."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from conftest import run_cli
from test_build import pngs

# 4 prompts x 2 images of tiny-sdxl, 2 per shard: 4 shards, 2 per rank; one batch per shard in every run, so
# batches hold the same images whatever the number of processes. The preset's near-duplicate step carries state
# across shards: rank 1's second shard must wait for rank 0's first. Weight-free checks keep the test fast.
PRESET = """\
description: weight-free checks and near-duplicates across shards (tests)
filters:
  - type: decodable
  - type: not_blank
    min_std: 2.0
  - type: dedup
    max_distance: 6
"""
BUILD = [
    "build",
    "--models",
    "tiny-sdxl",
    "--num-prompts",
    "4",
    "--images-per-prompt",
    "2",
    "--shard-size",
    "2",
    "--batch-size",
    "2",
    "--seed",
    "5",
    "--quiet",
]
COMPRESS = ["--codecs", "jpeg", "--bpp", "1,2", "--metrics", "psnr", "--quiet"]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "aigi_scd"]
TIMING = ["encode_seconds", "decode_seconds"]


def torchrun(*args) -> subprocess.Popen:
    """`torchrun --nproc_per_node 2 -m aigi_scd ARGS`, as the README shows it (one CPU thread per rank)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([*TORCHRUN, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def finish(proc: subprocess.Popen) -> str:
    output, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, output.decode()
    return output.decode()


@pytest.fixture(scope="module")
def build_args(tmp_path_factory) -> list[str]:
    preset = tmp_path_factory.mktemp("preset") / "light.yaml"
    preset.write_text(PRESET)
    return [*BUILD, "--filters", str(preset)]


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, build_args) -> Path:
    """The one-process build, its host work done in this process (--workers 0): the ranks' runs use a pool."""
    out = tmp_path_factory.mktemp("one-process") / "out"
    run_cli(*build_args, "--workers", "0", "--out", out)
    return out


def test_two_ranks_build_the_same_shards_as_one_process(one_process, build_args, tmp_path):
    out = tmp_path / "two"
    output = finish(torchrun(*build_args, "--workers", "1", "--out", out))
    assert pngs(out) == pngs(one_process) and len(pngs(out)) == 8
    stats = [json.loads(p.read_text()) for p in sorted((out / "data" / "tiny-sdxl").glob("*.stats.json"))]
    assert [s["rank"] for s in stats] == [0, 1, 0, 1] and {s["ranks"] for s in stats} == {2}
    for path in (one_process / "data" / "tiny-sdxl").glob("*.stats.json"):
        mine, theirs = json.loads(path.read_text()), json.loads((out / path.relative_to(one_process)).read_text())
        assert mine["keys"] == theirs["keys"] and mine["filter_state"] == theirs["filter_state"]
    assert (out / "README.md").is_file() and output.count("8 images in") == 1  # rank 0 alone reports


def test_two_ranks_compress_to_the_same_results_rows(one_process, tmp_path):
    single, double = tmp_path / "single", tmp_path / "double"
    shutil.copytree(one_process, single)
    shutil.copytree(one_process, double)
    run_cli("compress", single, *COMPRESS, "--workers", "0")  # scored here, in batches
    finish(torchrun("compress", double, *COMPRESS, "--workers", "1"))  # scored by each rank's worker
    rows = [pd.read_parquet(out / "benchmark" / "results.parquet").drop(columns=TIMING) for out in (single, double)]
    assert len(rows[0]) == 16 and rows[0]["psnr"].notna().all() and set(rows[0]["status"]) == {"ok"}
    pd.testing.assert_frame_equal(rows[0], rows[1])
    stored = [sorted(p.relative_to(out) for p in (out / "compressed").glob("*/*.tar")) for out in (single, double)]
    assert stored[0] == stored[1] and len(stored[0]) == 8


def _rank_process(launcher: subprocess.Popen, rank: int) -> psutil.Process | None:
    for child in psutil.Process(launcher.pid).children(recursive=True):
        try:
            if child.environ().get("RANK") == str(rank):
                return child
        except psutil.Error:
            continue
    return None


def test_a_killed_rank_is_completed_by_one_process(one_process, build_args, tmp_path):
    out = tmp_path / "killed"
    launcher = torchrun(*build_args, "--workers", "1", "--out", out)
    deadline = time.monotonic() + 600
    while not list((out / "data" / "tiny-sdxl").glob("*.stats.json")):
        assert launcher.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    rank1 = _rank_process(launcher, 1)
    assert rank1 is not None
    os.kill(rank1.pid, signal.SIGKILL)
    launcher.communicate(timeout=300)  # returns once every process holding its output is gone: no orphan worker
    assert launcher.returncode != 0  # the launcher stops the run when a rank dies
    assert 0 < len(list((out / "data" / "tiny-sdxl").glob("*.stats.json"))) < 4
    assert not (out / "README.md").exists()  # the card is written last, by rank 0 once every shard is done

    result = run_cli(*build_args, "--out", out)  # one process, its default worker pool
    assert "shards" in result.output and pngs(out) == pngs(one_process)
    assert not list(out.rglob("*.tmp")) and (out / "README.md").is_file()


def test_an_out_of_memory_on_the_first_batch_halves_it_and_keeps_the_samples(
    one_process, build_args, tmp_path, monkeypatch
):
    monkeypatch.setenv("AIGI_SCD_FAULT_OOM", "1")  # the first call of more than one image raises an OOM
    out = tmp_path / "oom"
    result = run_cli(*build_args, "--out", out, "--batch-size", "4")  # the last --batch-size counts
    assert "out of memory at batch 4; going on with batch 2" in result.output
    assert pngs(out) == pngs(one_process)
    stats = [json.loads(p.read_text()) for p in sorted((out / "data" / "tiny-sdxl").glob("*.stats.json"))]
    assert [s["kept"] + s["rejected"] for s in stats] == [2, 2, 2, 2]  # nothing lost, nothing made twice
    assert {s["batch_size"] for s in stats} == {2}
