"""The quiet failures, misleading messages and friction the review of issue 12 found, each shown fixed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pytest
from conftest import REPO, TINY_MODELS, run_cli
from PIL import Image
from test_build import pngs

from aigi_scd.verify import verify

TINY = ["build", "--models", TINY_MODELS, "--num-prompts", 6, "--seed", 0, "--quiet"]
JPEG = ["compress", "--codecs", "jpeg", "--bpp", "2", "--metrics", "psnr", "--workers", "0", "--quiet"]


@pytest.fixture
def build(tiny_build, tmp_path) -> Path:
    out = tmp_path / "build"
    shutil.copytree(tiny_build, out)
    return out


def test_after_filter_units_of_codecs_not_redone_are_left_out_of_the_tables_and_reported(build, tmp_path):
    run_cli(*JPEG, build)
    strict = tmp_path / "strict.yaml"  # rejects about half of the tiny images (PIQE ≈ 40-46)
    strict.write_text((REPO / "filters" / "offline.yaml").read_text().replace("threshold: null", "threshold: 43.0"))
    filtered = run_cli("filter", build, "--preset", strict, "--quiet")
    assert "leave out every unit whose images changed until they are compressed again: aigi-scd compress" in (
        filtered.output
    )
    kept = {m: len(json.loads((build / "data" / m / "00000.stats.json").read_text())["keys"]) for m in ("tiny-sdxl",)}
    assert 0 < kept["tiny-sdxl"] < 6

    result = run_cli(
        "compress", build, "--codecs", "webp", "--bpp", "2", "--metrics", "psnr", "--workers", 0, "--quiet"
    )
    assert "Left out of the tables:" in result.output
    assert "jpeg-2/tiny-sdxl-00000: its 6 images are not the" in result.output
    rows = pd.read_parquet(build / "benchmark" / "results.parquet")
    assert not ((rows["codec"] == "jpeg") & (rows["source"] == "tiny-sdxl")).any()
    assert ((rows["codec"] == "webp") & (rows["source"] == "tiny-sdxl")).sum() == kept["tiny-sdxl"]
    summary = pd.read_csv(build / "benchmark" / "summary.csv")
    assert not ((summary["codec"] == "jpeg") & (summary["source"] == "tiny-sdxl")).any()
    assert any("jpeg-2/tiny-sdxl-00000" in p.problem for p in verify(build, load=False).findings)

    run_cli(*JPEG, build)  # compressing again with jpeg redoes the stale unit: nothing is left out
    assert verify(build, load=False).ok


def test_an_unreadable_unit_stats_file_is_reported_and_redone_not_skipped_in_silence(build):
    run_cli(*JPEG, build)
    stats = build / "compressed" / "jpeg-2" / "tiny-pixart-00000.stats.json"
    stats.write_text("{ cut")
    from aigi_scd.bench.benchmark import write_benchmark

    tables = write_benchmark(build, progress=False)
    assert "unreadable" in tables["left_out"][stats] and "tiny-pixart" not in set(tables["results"]["source"])
    result = run_cli(*JPEG, build)
    assert "1 encoded, 1 already done" in result.output and verify(build, load=False).ok


def test_an_unreadable_shard_stats_file_stops_compress_and_the_card_with_its_name(build):
    (build / "data" / "tiny-pixart" / "00000.stats.json").write_text("not json")
    result = run_cli(*JPEG, build, check=False)
    assert (
        result.exit_code == 1 and "tiny-pixart/00000.stats.json: the shard's stats file is unreadable" in result.output
    )
    from aigi_scd.dataset.card import write_dataset_card
    from aigi_scd.errors import DamagedDataError

    with pytest.raises(DamagedDataError, match="00000.stats.json"):
        write_dataset_card(build)


def test_a_dark_16_bit_png_stays_dark(tmp_path):
    from aigi_scd.bench.sources import load_rgb
    from aigi_scd.codec.image import to_rgb8

    dark = (np.arange(64 * 48).reshape(48, 64) % 250).astype(np.uint16)  # every value <= 255 of 65535
    path = tmp_path / "dark.png"
    Image.fromarray(dark).save(path)
    assert Image.open(path).mode == "I;16"
    for image in (to_rgb8(path), load_rgb(path.read_bytes())):
        assert np.asarray(image).max() <= 1  # 250/65535 of full scale, not 250/255


def test_a_resumed_build_refuses_to_mix_dtypes(build):
    before = pngs(build)
    result = run_cli(*TINY, "--out", build, "--dtype", "float16", check=False)
    assert result.exit_code == 1
    assert "the finished shards were made on cpu in float32" in result.output
    assert "Resume with --device cpu --dtype float32" in result.output
    assert pngs(build) == before


def test_a_truncated_shard_in_a_finished_build_is_made_again_not_trusted(build, tiny_build):
    tar = build / "data" / "tiny-pixart" / "train-00000.tar"
    tar.write_bytes(tar.read_bytes()[: tar.stat().st_size // 3])
    result = run_cli(*TINY, "--out", build)
    assert "tiny-pixart shard 0:" in result.output and "making it again" in result.output
    assert "tiny-pixart               6         0       1        0" in result.output  # not counted as resumed
    assert pngs(build) == pngs(tiny_build)
    assert datasets.load_dataset(str(build), split="train").num_rows == 12


def test_a_preset_that_rejects_everything_leaves_a_card_datasets_explains(tmp_path):
    preset = tmp_path / "none.yaml"
    preset.write_text("filters:\n  - type: decodable\n  - type: min_size\n    min_side: 4096\n")
    out = tmp_path / "out"
    result = run_cli("build", "--models", "tiny-sdxl", "--num-prompts", 2, "--filters", preset, "--out", out, "--quiet")
    assert "0 images in" in result.output
    meta = (out / "README.md").read_text().split("---")[1]
    assert "config_name: default" in meta and "data/*/train-*.tar" in meta
    with pytest.raises(Exception, match="No \\(supported\\) data files found") as info:
        datasets.load_dataset(str(out), split="train")
    assert "Cast" not in type(info.value).__name__
    report = verify(out, load=True)
    assert [f.problem.split(":")[0] for f in report.findings] == ["the dataset is empty"]
    assert report.findings[0].regenerate == f"aigi-scd filter {out} --preset <a looser preset>"


def test_a_build_stopped_by_a_bad_card_accepts_the_corrected_card(tmp_path):
    card = tmp_path / "card.yaml"
    good = (REPO / "pipelines" / "tiny-sdxl.yaml").read_text()
    card.write_text(good + "scheduler: {class: EulerDiscreteSchedulr}\n")  # fails only once the pipeline loads
    out = tmp_path / "out"
    args = ["build", "--models", card, "--num-prompts", 1, "--out", out, "--quiet"]
    failed = run_cli(*args, check=False)
    assert failed.exit_code == 1 and "'EulerDiscreteSchedulr' is not a diffusers scheduler" in failed.output
    assert (out / "build.json").is_file()  # the first run got that far
    card.write_text(good)
    run_cli(*args)  # not refused as "a different configuration": no shard was finished
    assert len(pngs(out)) == 1


def test_decode_writes_the_format_its_output_name_asks_for(tmp_path):
    Image.new("RGB", (64, 48), (90, 120, 150)).save(tmp_path / "a.png")
    run_cli("encode", tmp_path / "a.png", "-o", tmp_path / "a.misc", "--bpp", "2")
    for name, magic in (("x.jpg", b"\xff\xd8\xff"), ("x.png", b"\x89PNG"), ("x.webp", b"RIFF")):
        run_cli("decode", tmp_path / "a.misc", "-o", tmp_path / name)
        assert (tmp_path / name).read_bytes()[: len(magic)] == magic, name
        assert Image.open(tmp_path / name).size == (64, 48)


def test_a_file_from_a_preset_given_by_path_decodes_with_codec_path(tmp_path):
    preset = tmp_path / "my-misc.yaml"
    preset.write_text("name: my-misc\nkind: misc\nid: 201\nsemantic: {backend: none}\n")
    Image.new("RGB", (64, 48), (90, 120, 150)).save(tmp_path / "a.png")
    run_cli("encode", tmp_path / "a.png", "-o", tmp_path / "a.misc", "--codec", preset, "--bpp", "2")
    refused = run_cli("decode", tmp_path / "a.misc", "-o", tmp_path / "a.png", check=False)
    assert refused.exit_code == 1 and "name it with --codec PATH" in refused.output
    result = run_cli("decode", tmp_path / "a.misc", "-o", tmp_path / "b.png", "--codec", preset)
    assert "64x48 from my-misc" in result.output


def test_one_malformed_codec_preset_breaks_neither_the_listing_nor_decode(tmp_path, monkeypatch):
    from aigi_scd import config

    registry = tmp_path / "codec"
    shutil.copytree(REPO / "codec", registry)
    (registry / "broken.yaml").write_text("name: broken\nkind: misc\nid: 9\npixel: {min_fill: 5}\n")
    real = config.registry_dir
    monkeypatch.setattr(config, "registry_dir", lambda kind: registry if kind == "codec" else real(kind))
    listing = run_cli("list", "codecs")
    assert "broken               (invalid preset:" in listing.output and "min_fill must be in (0, 1]" in listing.output
    assert "misc-offline" in listing.output and "thumb-avif" in listing.output
    Image.new("RGB", (64, 48), (90, 120, 150)).save(tmp_path / "a.png")
    run_cli("encode", tmp_path / "a.png", "-o", tmp_path / "a.misc", "--bpp", "2")
    assert "64x48 from misc-offline" in run_cli("decode", tmp_path / "a.misc", "-o", tmp_path / "b.png").output


def test_compress_names_an_unreadable_original_not_a_memory_buffer(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (64, 48), (90, 120, 150)).save(images / "good.png")
    (images / "bad.png").write_bytes(b"not a png at all")
    result = run_cli(*JPEG, "--images", images, "--out", tmp_path / "out")
    assert "1 errors" in result.output
    error = next(line for line in result.output.splitlines() if line.startswith("  error:"))
    assert "original images-bad: cannot read it (not an image file Pillow reads)" in error and "BytesIO" not in error
    assert verify(tmp_path / "out", load=False).ok
