"""Stale rows (issue 21 acceptance 2): every results row records its original's sha256, so an original replaced
under its name — a file of an image folder, or a build shard made again with other bytes — makes the units
compressed from it stale: verify names them with the command that redoes them, the tables leave them out, and
compress redoes them (and only them). Likewise a unit made with other library versions (issue 21, build:
reproducibility) is redone by a resumed compress."""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from PIL import Image

from aigi_scd.dataset.commands import command_for_folder
from aigi_scd.dataset.shards import iter_samples
from aigi_scd.verify import verify

JPEG = ["--codecs", "jpeg", "--bpp", "2", "--metrics", "psnr", "--workers", "0", "--quiet"]


def picture(seed: int, size: int = 96) -> Image.Image:
    """A smooth gradient with a little noise: compressible, and different for every seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    base = np.stack([x * (1 + seed % 3), y * 2, (x + y) * (1 + seed % 2)], axis=-1) % 256
    return Image.fromarray(np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8))


def results(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "benchmark" / "results.parquet")


def test_a_replaced_original_in_a_folder_set_is_stale_until_compressed_again(tmp_path):
    images, out = tmp_path / "images", tmp_path / "out"
    images.mkdir()
    for n in range(3):
        picture(n).save(images / f"img{n}.png")
    run_cli("compress", "--images", images, "--out", out, *JPEG)
    before = results(out)
    digest = hashlib.sha256((images / "img1.png").read_bytes()).hexdigest()
    assert before.set_index("key").loc["images-img1", "original_sha256"] == digest
    assert verify(out, load=False).ok

    picture(7).save(images / "img1.png")  # another picture under the same name: the keys do not change
    report = verify(out, load=False)
    stale = [f for f in report.findings if "compressed/jpeg-2/images-00000" in f.problem]
    assert (
        len(stale) == 1
        and "1 of its 3 originals changed after it was compressed (first: images-img1" in stale[0].problem
    )
    assert stale[0].regenerate.startswith("aigi-scd compress --images") and f"--out {out}" in stale[0].regenerate
    lines = "\n".join(report.lines())
    assert "PROBLEM compressed/jpeg-2/images-00000: 1 of its 3 originals changed" in lines

    card = run_cli("card", out)  # the tables are rewritten without the stale unit, and say so
    assert results(out).empty
    assert "Left out of the tables: 1 unit(s)" in card.output and "jpeg-2/images-00000: 1 of its 3" in card.output

    again = run_cli("compress", "--images", images, "--out", out, *JPEG)
    assert "1 units: 1 encoded, 0 already done" in again.output
    after = results(out).set_index("key")
    new_digest = hashlib.sha256((images / "img1.png").read_bytes()).hexdigest()
    assert after.loc["images-img1", "original_sha256"] == new_digest != digest
    assert after.loc["images-img1", "psnr"] != before.set_index("key").loc["images-img1", "psnr"]
    assert verify(out, load=False).ok
    assert "1 units: 0 encoded, 1 already done" in run_cli("compress", "--images", images, "--out", out, *JPEG).output


@pytest.fixture
def compressed_build(tiny_build, tmp_path) -> Path:
    out = tmp_path / "build"
    shutil.copytree(tiny_build, out)
    run_cli("compress", out, *JPEG)
    return out


def test_a_shard_made_again_with_other_bytes_makes_its_units_stale(compressed_build):
    out = compressed_build
    data = out / "data" / "tiny-sdxl"
    keys = json.loads((data / "00000.stats.json").read_text())["keys"]
    old = {
        r["key"]: r["original_sha256"]
        for r in json.loads((out / "compressed/jpeg-2/tiny-sdxl-00000.stats.json").read_text())["rows"]
    }
    for path in (data / "train-00000.tar", data / "00000.stats.json", out / "rejects/tiny-sdxl/rejects-00000.tar"):
        path.unlink(missing_ok=True)
    # Made again at another batch size: the same keys, other PNG bytes (floating-point noise of the batch).
    command = command_for_folder(json.loads((out / "build.json").read_text())["command"], out)
    run_cli(*shlex.split(command)[1:], "--batch-size", "1", "--quiet")
    assert json.loads((data / "00000.stats.json").read_text())["keys"] == keys

    report = verify(out, load=False)
    stale = [f for f in report.findings if "compressed/jpeg-2/tiny-sdxl-00000" in f.problem]
    assert len(stale) == 1 and "originals changed after it was compressed" in stale[0].problem
    assert stale[0].regenerate.startswith(f"aigi-scd compress {out} ")
    assert not any("tiny-pixart" in f.problem and "compressed/" in f.problem for f in report.findings)

    again = run_cli("compress", out, *JPEG)
    assert "2 units: 1 encoded, 1 already done" in again.output  # tiny-pixart's unit is still current
    rows = results(out)
    fresh = rows[rows["source"] == "tiny-sdxl"].set_index("key")["original_sha256"]
    # The rows now name the new originals (batch noise need not change every image: on some CPUs a few come out
    # byte for byte the same, and those keep their hash).
    assert set(fresh.index) == set(keys) and any(fresh[k] != old[k] for k in keys)
    made = {s["__key__"]: hashlib.sha256(s["png"]).hexdigest() for s in iter_samples(data / "train-00000.tar")}
    assert all(fresh[k] == made[k] for k in keys)
    assert verify(out, load=False).ok


def test_a_compress_resumed_after_a_library_upgrade_redoes_its_units(tmp_path, monkeypatch):
    """Rows record the libraries, device and dtype they were made with; so does the unit, whose fingerprint they
    are part of: after an upgrade the units are made again, never mixed with rows of the old versions."""
    import aigi_scd.bench.environment as environment

    images, out = tmp_path / "images", tmp_path / "out"
    images.mkdir()
    for n in range(2):
        picture(n).save(images / f"img{n}.png")
    run_cli("compress", "--images", images, "--out", out, *JPEG)
    row = results(out).iloc[0]
    versions = json.loads(row["codec_versions"])
    assert versions["pillow"] == environment.package_version("pillow") and versions["libjpeg"]
    assert row["codec_device"] == "cpu" and row["metric_device"] == "cpu"
    assert json.loads(row["metric_versions"])["pyiqa"] == environment.package_version("pyiqa")
    assert "1 units: 0 encoded, 1 already done" in run_cli("compress", "--images", images, "--out", out, *JPEG).output

    real = environment.package_version
    monkeypatch.setattr(environment, "package_version", lambda name: "99.0" if name == "pyiqa" else real(name))
    again = run_cli("compress", "--images", images, "--out", out, *JPEG)
    assert "1 units: 1 encoded, 0 already done" in again.output
    assert set(results(out)["metric_versions"].map(lambda v: json.loads(v)["pyiqa"])) == {"99.0"}
