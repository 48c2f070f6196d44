"""SIGKILL at random points of build, filter and compress (issue 12 acceptance 1): after each kill the same
command is run again, `aigi-scd verify` finds the folder clean, and its content equals an uninterrupted run's.

The short version (one kill point per stage) runs with the suite; the long one (20 build, 15 filter and 15
compress kill points) is marked slow: `pytest -m slow tests/test_soak.py`. Runs are real processes forked from
a server that has imported the package once (tests/forked_cli.py), so a kill point costs its own work only.
A kill lands at a uniformly random time within the part of the reference run that writes: from the moment
the command has made its first file (build.json, the filter's plan, compress.json) to its end.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import KILLABLE, REPO
from forked_cli import run, start, timed_run, wait_for
from test_filters_shard_steps import samples

from aigi_scd.dataset.shards import iter_samples
from aigi_scd.verify import verify

COMPRESS = ["compress", "--codecs", "jpeg,webp", "--bpp", "2", "--metrics", "psnr", "--workers", 1, "--quiet"]


@dataclass
class Stage:
    """One command under test: how to prepare a fresh folder, its command line, the file whose appearance
    means it has started writing, and what of the result must equal the reference."""

    name: str
    argv: list
    marker: str
    base: Path | None  # copied into a fresh folder before each run (None: start from nothing)


def content(stage: str, out: Path) -> dict:
    """What must not depend on where the runs were killed: every sample of the build (kept and rejected: PNG
    bytes and json without timings) and, for compress, every unit's rows without timings and every stored
    bitstream and reconstruction."""
    found: dict = {}
    if stage != "compress":
        found["samples"] = samples(out)
    if stage == "filter":
        manifest = json.loads((out / "build.json").read_text())
        found["manifest"] = {k: v for k, v in manifest.items() if k != "filter_commands"}
    if stage == "compress":
        for path in sorted((out / "compressed").glob("*/*.stats.json")):
            unit = json.loads(path.read_text())["rows"]
            found[str(path.relative_to(out))] = [
                {k: v for k, v in r.items() if not k.endswith("_seconds")} for r in unit
            ]
        for tar in sorted((out / "compressed").glob("*/*.tar")):
            for sample in iter_samples(tar):
                found[f"{tar.parent.name}/{sample['__key__']}"] = (sample["bitstream"], sample["png"])
    return found


def fresh(stage: Stage, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "out"
    if stage.base is not None:
        shutil.copytree(stage.base, out)
    return out


def argv(stage: Stage, out: Path) -> list:
    return [*stage.argv, "--out", out] if stage.name == "build" else [*stage.argv, out]


@pytest.fixture(scope="module")
def stages(killable_build, tmp_path_factory) -> dict[str, Stage]:
    built = killable_build[0]
    strict = tmp_path_factory.mktemp("soak") / "strict.yaml"  # PIQE ≈ 40-46 on tiny images: some are rejected
    strict.write_text((REPO / "filters" / "offline.yaml").read_text().replace("threshold: null", "threshold: 43.0"))
    return {
        "build": Stage("build", [*KILLABLE, "--quiet"], "build.json", None),
        "filter": Stage("filter", ["filter", "--preset", strict, "--quiet"], ".filter-staging/plan.json", built),
        "compress": Stage("compress", COMPRESS, "compress.json", built),
    }


@dataclass
class Reference:
    content: dict
    writing_seconds: float  # from the marker's appearance to the end


def reference_run(stage: Stage, folder: Path, killable_build: tuple[Path, float]) -> Reference:
    """The uninterrupted run (the session's killable build, for the build stage) and how long it writes."""
    if stage.name == "build":
        out, seconds = killable_build
    else:
        out = fresh(stage, folder)
        seconds = timed_run(argv(stage, out), folder / "reference.log", out / stage.marker)
    report = verify(out, load=True)
    assert report.ok, report.lines()
    return Reference(content(stage.name, out), seconds)


def kill_and_rerun(stage: Stage, reference: Reference, folder: Path, rng: random.Random) -> float:
    """One kill point: start, SIGKILL at a random moment of the writing phase, run the same command again,
    verify, compare. Returns when (in seconds into the writing phase) the kill landed. On a busy machine a run
    may end before its kill point; then it is drawn again within that run's own length."""
    length = reference.writing_seconds
    for _attempt in range(5):
        shutil.rmtree(folder, ignore_errors=True)
        out = fresh(stage, folder)
        running = start(argv(stage, out), folder / "killed.log")
        began = wait_for(out / stage.marker, running)
        delay = rng.uniform(0, 0.9 * length)
        while running.alive() and time.monotonic() < began + delay:
            time.sleep(0.002)
        if running.alive():
            running.kill(signal.SIGKILL)
        code = running.wait()
        if code == -signal.SIGKILL:
            break
        assert code == 0, running.output()  # it ended before the kill landed: draw again within its length
        length = time.monotonic() - began
    else:
        pytest.fail(f"{stage.name} ended before its kill point five times")

    code, output = run(argv(stage, out), folder / "rerun.log")
    assert code == 0, f"rerun after a kill at {delay:.2f} s failed:\n{output}"
    report = verify(out, load=False)
    assert report.ok, f"kill at {delay:.2f} s: " + "\n".join(report.lines())
    assert content(stage.name, out) == reference.content, f"kill at {delay:.2f} s changed the result"
    return delay


def soak(stage: Stage, points: int, seed: int, folder: Path, killable_build) -> list[float]:
    rng = random.Random(seed)
    reference = reference_run(stage, folder / "reference", killable_build)
    kills = []
    for i in range(points):
        kills.append(kill_and_rerun(stage, reference, folder / f"kill-{i}", rng))
        shutil.rmtree(folder / f"kill-{i}")
    return kills


@pytest.mark.parametrize("stage", ["build", "filter", "compress"])
def test_a_kill_at_a_random_point_then_the_same_command_equals_an_uninterrupted_run(
    stage, stages, killable_build, tmp_path
):
    assert len(soak(stages[stage], points=1, seed=12, folder=tmp_path, killable_build=killable_build)) == 1


@pytest.mark.slow
@pytest.mark.parametrize(("stage", "points"), [("build", 20), ("filter", 15), ("compress", 15)])
def test_soak_fifty_kill_points_across_build_filter_and_compress(stage, points, stages, killable_build, tmp_path):
    kills = soak(stages[stage], points=points, seed=2026, folder=tmp_path, killable_build=killable_build)
    assert len(kills) == points
    print(f"{stage}: {points} kills at {', '.join(f'{k:.2f}' for k in sorted(kills))} s into the writing phase")
