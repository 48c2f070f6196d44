"""Faults injected into real runs (issue 12): a full disk (RLIMIT_FSIZE, and a tiny tmpfs), a read-only output
folder, a corrupted shard as compress input, and Ctrl-C. Each ends in one clear line, leaves nothing
half-written, loses nothing written before, and the same command afterwards finishes the work."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pandas as pd
import pytest
from conftest import KILLABLE, run_cli
from forked_cli import NO_NAMESPACE, run, start, wait_for
from test_build import pngs

from aigi_scd.dataset.integrity import unit_problems
from aigi_scd.verify import verify

BUILD = KILLABLE
COMPRESS = ["compress", "--codecs", "jpeg,webp", "--bpp", "2", "--metrics", "psnr", "--quiet"]


def files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def unit_rows(out: Path) -> list[list[dict]]:
    """Every compressed unit's rows, timings left out."""
    units = sorted((out / "compressed").glob("*/*.stats.json"))
    return [
        [{k: v for k, v in r.items() if not k.endswith("_seconds")} for r in json.loads(p.read_text())["rows"]]
        for p in units
    ]


def one_error_line(output: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in output, output
    return errors[0]


def no_temporaries(out: Path) -> None:
    assert not list(out.rglob("*.tmp")), list(out.rglob("*.tmp"))


@pytest.fixture(scope="module")
def reference(killable_build, tmp_path_factory) -> Path:
    """An uninterrupted build (one tiny model, 3 prompts, one image per shard) and its compressed set."""
    out = tmp_path_factory.mktemp("reference") / "out"
    shutil.copytree(killable_build[0], out)
    code, output = run([*COMPRESS, out, "--workers", 1], out.parent / "compress.log")
    assert code == 0, output
    return out


def test_a_full_disk_mid_build_stops_in_one_line_and_the_rerun_completes_it(reference, tmp_path):
    out = tmp_path / "out"
    # PNG tars of 128² noise images are ~50 kB; build.json and the stats files stay far below the limit
    code, output = run([*BUILD, "--out", out, "--quiet"], tmp_path / "full.log", file_size=40_000)
    assert code == 1
    line = one_error_line(output)
    assert "train-00000.tar: File too large" in line and "rerun the same command" in line
    no_temporaries(out)
    assert not list(out.rglob("*.stats.json"))  # nothing was marked done that is not

    code, output = run([*BUILD, "--out", out, "--quiet"], tmp_path / "rerun.log")
    assert code == 0, output
    assert pngs(out) == pngs(reference) and verify(out, load=False).ok


def test_a_full_tmpfs_mid_compress_loses_no_finished_unit(reference, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("build.json", "README.md", "data"):
        src = reference / name
        shutil.copytree(src, out / name) if src.is_dir() else shutil.copy(src, out / name)
    (out / "compressed").mkdir()
    left = tmp_path / "left-on-the-full-disk"
    # 6 units (3 one-image shards × 2 codecs) of ~55 kB each, each image first kept in its unit's journal (a part of
    # the same size) until the shard's units are written: a 250 kB tmpfs takes one shard's two units, then is full
    code, output = run(
        [*COMPRESS, out, "--workers", 0],
        tmp_path / "full.log",
        tmpfs=(out / "compressed", "250k"),
        keep=(out / "compressed", left),
    )
    if code == NO_NAMESPACE:
        pytest.skip(output.strip())
    assert code == 1
    assert "No space left on device" in one_error_line(output)
    finished = sorted(left.glob("*/*.stats.json"))
    assert finished and not list(left.rglob("*.tmp"))
    assert all(unit_problems(stats) == [] for stats in finished)  # every unit marked done is whole

    shutil.rmtree(out / "compressed")
    shutil.copytree(left, out / "compressed")  # the disk after the failure, with room again
    code, output = run([*COMPRESS, out, "--workers", 0], tmp_path / "rerun.log")
    assert code == 0, output
    assert f"{len(finished)} already done" in output
    assert verify(out, load=False).ok
    drop = ["encode_seconds", "decode_seconds"]
    rows = [pd.read_parquet(o / "benchmark" / "results.parquet").drop(columns=drop) for o in (out, reference)]
    pd.testing.assert_frame_equal(rows[0], rows[1])


def test_encode_into_a_full_disk_leaves_no_file_at_all(tmp_path):
    import numpy as np
    from PIL import Image

    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "a.png")  # no codec makes noise small: ~32 kB at 4 bpp
    code, output = run(
        ["encode", tmp_path / "a.png", "-o", tmp_path / "out" / "a.webp", "--codec", "webp", "--bpp", "4"],
        tmp_path / "log",
        file_size=4096,  # the ~32 kB file is refused; the log of the run (~300 bytes) fits
    )
    assert code == 1 and "a.webp: File too large" in one_error_line(output)
    assert list((tmp_path / "out").iterdir()) == []  # no 0-byte .tmp, no partial file


@pytest.mark.parametrize("command", ["build", "filter", "compress"])
def test_a_read_only_output_folder_gets_one_line_and_stays_untouched(command, reference, tmp_path):
    out = tmp_path / "ro"
    shutil.copytree(reference, out)
    before = files(out)
    if command == "build":  # a new model added to the build would write into the read-only folder
        argv = ["build", "--models", "tiny-sdxl", "--num-prompts", 1, "--out", out / "new", "--quiet"]
    elif command == "filter":
        argv = ["filter", out, "--preset", "offline", "--quiet"]
    else:
        argv = [*COMPRESS, out, "--workers", 0, "--codecs", "avif"]
    code, output = run(argv, tmp_path / "log", read_only=out)
    if code == NO_NAMESPACE:
        pytest.skip(output.strip())
    assert code == 1
    line = one_error_line(output)
    assert "Read-only file system" in line and "choose another" in line
    assert files(out) == before


def test_a_corrupted_shard_as_compress_input_stops_before_any_change(reference, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    tar = out / "data" / "tiny-sdxl" / "train-00002.tar"
    tar.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    before = files(out)
    result = run_cli(*COMPRESS, out, "--workers", 0, "--codecs", "avif", check=False)
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "tiny-sdxl/train-00002.tar: the tar is" in line and f"aigi-scd verify {out} --repair" in line
    assert files(out) == before  # the earlier compressed sets and tables are as they were


def test_a_flipped_byte_in_an_original_stops_compress_before_it_is_benchmarked(reference, tmp_path):
    import io
    import tarfile

    out = tmp_path / "out"
    shutil.copytree(reference, out)
    tar = out / "data" / "tiny-sdxl" / "train-00001.tar"
    with tarfile.open(tar) as opened:
        members = [(m, opened.extractfile(m).read()) for m in opened.getmembers()]
    with tarfile.open(tar, "w") as opened:  # same layout, one byte of the PNG flipped
        for member, data in members:
            if member.name.endswith(".png"):
                data = data[:200] + bytes([data[200] ^ 0xFF]) + data[201:]
            opened.addfile(member, io.BytesIO(data))
    earlier = {k: v for k, v in files(out).items() if k.startswith(("compressed", "benchmark"))}
    result = run_cli(*COMPRESS, out, "--workers", 0, "--codecs", "avif", check=False)
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "train-00001.tar: tiny-sdxl-" in line and "the png's sha256 differs from the one its json records" in line
    assert {
        k: v for k, v in files(out).items() if k.startswith(("compressed/jpeg", "compressed/webp", "bench"))
    } == earlier
    # no unit of the damaged shard (its images before the damaged one may wait in its journal: in no table or config)
    assert not [p for p in (out / "compressed" / "avif-2").glob("tiny-sdxl-00001*") if not p.name.endswith(".partial")]


@pytest.mark.parametrize("command", ["build", "compress"])
def test_ctrl_c_stops_cleanly_with_the_command_that_resumes(command, reference, tmp_path):
    out = tmp_path / "out"
    if command == "build":
        argv, first = [*BUILD, "--out", out, "--quiet"], out / "data" / "tiny-sdxl" / "00000.stats.json"
    else:
        shutil.copytree(reference, out)
        shutil.rmtree(out / "compressed")
        shutil.rmtree(out / "benchmark")
        argv, first = [*COMPRESS, out, "--workers", 1], out / "compressed" / "jpeg-2" / "tiny-sdxl-00000.stats.json"
    running = start(argv, tmp_path / "interrupted.log")
    wait_for(first, running)
    running.kill(signal.SIGINT)
    assert running.wait() == 130, running.output()
    output = running.output()
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    assert "Interrupted. Work finished so far is kept and nothing half-written remains" in output
    assert f"run the same command again to go on: aigi-scd {command} " in output
    no_temporaries(out)

    code, output = run(argv, tmp_path / "resumed.log")
    assert code == 0, output
    assert verify(out, load=False).ok
    if command == "build":
        assert pngs(out) == pngs(reference)
    else:
        assert "already done" in output
        stats = [json.loads(p.read_text())["rows"] for p in sorted((out / "compressed").glob("*/*.stats.json"))]
        expected = [
            json.loads(p.read_text())["rows"] for p in sorted((reference / "compressed").glob("*/*.stats.json"))
        ]
        strip = lambda rows: [{k: v for k, v in r.items() if not k.endswith("_seconds")} for r in rows]  # noqa: E731
        assert [strip(r) for r in stats] == [strip(r) for r in expected]


def test_a_pool_shuts_down_after_a_ctrl_c_left_a_futures_lock_taken():
    """A Ctrl-C inside concurrent.futures' lock handling leaves a future's lock with the main thread; the pool's
    manager thread needs it to cancel that future, so shutdown(wait=True) would wait forever. let_go releases it."""
    import threading
    import time

    from aigi_scd.weights.workers import let_go, process_pool

    pool = process_pool(1)
    running = pool.submit(time.sleep, 0.5)
    waiting = pool.submit(time.sleep, 0)
    waiting._condition.acquire()  # what an interrupted `wait` leaves behind
    waiting._condition.acquire()
    assert let_go([running, waiting]) == 2
    stopper = threading.Thread(target=pool.shutdown, kwargs={"wait": True, "cancel_futures": True})
    stopper.start()
    stopper.join(60)
    assert not stopper.is_alive()
    assert running.done() and waiting.done()
