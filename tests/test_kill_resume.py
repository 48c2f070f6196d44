"""A build killed with SIGKILL at an arbitrary point resumes to exactly the uninterrupted result (issue 2
acceptance 4); a compress interrupted, then killed, mid-shard keeps every finished image (issue 22 acceptance 3)."""

from __future__ import annotations

import json
import re
import signal
import time
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


# -- compress: an interrupt, then a kill, in the middle of one shard through several codecs and targets ---------

COMPRESS = ["compress", "--codecs", "thumb-avif,webp,jpeg", "--bpp", "0.5,1", "--metrics", "psnr", "--workers", 1]
COMPRESS += ["--quiet"]


def kodak_crops(folder: Path, count: int) -> Path:
    from conftest import kodak_dir
    from PIL import Image

    folder.mkdir(parents=True)
    for i, path in enumerate(sorted(kodak_dir().glob("*.png"))[:count]):
        Image.open(path).convert("RGB").crop((100, 100, 356, 292)).save(folder / f"crop{i:02d}.png")
    return folder


def parts(out: Path) -> dict[str, dict]:
    """The rows of every finished image kept in an unfinished unit's journal: `config/key` → row."""
    from aigi_scd.bench.journal import _read_part

    found = {}
    for path in sorted((out / "compressed").glob("*/*.partial/*.part")):
        row = _read_part(path)[0]
        found[f"{path.parent.parent.name}/{row['key']}"] = row
    return found


def unit_rows(out: Path) -> dict[str, dict]:
    """Every row of every finished unit: `config/key` → row."""
    found = {}
    for stats in sorted((out / "compressed").glob("*/*.stats.json")):
        for row in json.loads(stats.read_text())["rows"]:
            found[f"{stats.parent.name}/{row['key']}"] = row
    return found


def without_timings(rows: dict[str, dict]) -> dict[str, dict]:
    return {k: {f: v for f, v in r.items() if not f.endswith("_seconds")} for k, r in rows.items()}


def wait_for_parts(out: Path, count: int, running) -> None:
    deadline = time.monotonic() + 600
    while len(list((out / "compressed").glob("*/*.partial/*.part"))) < count:
        assert running.alive(), f"the run ended before {count} images were kept:\n{running.output()}"
        assert time.monotonic() < deadline, "no progress in 600 s"
        time.sleep(0.01)


def kept_count(output: str) -> int:
    match = re.search(r"Resuming: kept (\d+) finished images of (\d+) unfinished units", output)
    assert match, output
    return int(match.group(1))


def test_compress_interrupted_then_killed_keeps_finished_images_and_ends_as_uninterrupted(tmp_path):
    """Ctrl-C (SIGINT) mid-shard, a rerun killed mid-shard (SIGKILL), a second rerun: each rerun keeps every image
    the run before it finished (its row is the very row that run wrote, timings included) and the last one ends with
    the rows of an uninterrupted run; verify finds the folder clean, and no journal is left."""
    from aigi_scd.verify import verify

    images = kodak_crops(tmp_path / "crops", 8)  # one shard: 8 images × 3 codecs × 2 targets = 48 rows
    reference = tmp_path / "reference"
    code, output = run([*COMPRESS, "--images", images, "--out", reference], tmp_path / "reference.log")
    assert code == 0, output
    expected = unit_rows(reference)
    assert len(expected) == 48

    out = tmp_path / "out"
    argv = [*COMPRESS, "--images", images, "--out", out]
    first = start(argv, tmp_path / "first.log")
    wait_for_parts(out, 6, first)
    first.kill(signal.SIGINT)
    assert first.wait() == 130, first.output()
    assert "Interrupted" in first.output()
    after_interrupt = parts(out)
    assert 6 <= len(after_interrupt) < 48 and not unit_rows(out)  # work kept, no unit finished
    assert not list(out.rglob("*.tmp"))
    partial = verify(out, load=False)  # the journals are no problem (the card is not written yet): a note, no config
    assert not [line for line in partial.lines() if line.startswith("PROBLEM") and ".partial" in line]
    assert any("unfinished units hold" in note for note in partial.notes), partial.lines()

    second = start(argv, tmp_path / "second.log")
    wait_for_parts(out, len(after_interrupt) + 6, second)
    second.kill(signal.SIGKILL)
    assert second.wait() == -signal.SIGKILL
    assert kept_count(second.output()) == len(after_interrupt)
    after_kill = parts(out)
    assert len(after_interrupt) + 6 <= len(after_kill) < 48
    assert all(after_kill[k] == row for k, row in after_interrupt.items())  # kept, not made again

    code, output = run(argv, tmp_path / "third.log")
    assert code == 0, output
    assert kept_count(output) == len(after_kill)
    final = unit_rows(out)
    assert without_timings(final) == without_timings(expected)
    assert all(final[k] == row for k, row in after_kill.items())  # the kept rows, timings and all
    assert not list((out / "compressed").glob("*/*.partial")) and not list(out.rglob("*.tmp"))
    report = verify(out, load=False)
    assert report.ok, report.lines()
