"""`aigi-scd compress` end to end (issue 6 acceptance 1–4): a tiny build (AIGI) and Kodak crops (natural), every
offline codec, the weight-free metrics; tables checked against the stored files and against pyiqa."""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path

import datasets
import numpy as np
import pandas as pd
import pyiqa
import pytest
import torch
import yaml
from conftest import AIGI_CODECS, COMPRESS_CODECS, run_cli
from PIL import Image
from pyiqa.archs.fid_arch import get_folder_features, maximum_mean_discrepancy
from random_weights import save_random_fid_inception
from scipy import stats
from test_metrics import pyiqa_reference

from aigi_scd.bench.metrics import PRESETS, frechet_distance
from aigi_scd.bench.results import MIN_CI_IMAGES
from aigi_scd.codec import decode_file
from aigi_scd.dataset.shards import iter_samples

CROP_TARGETS = (0.1, 0.5)  # the fixtures' targets (conftest): on 192×176 crops, 0.1 is below every baseline
BUILD_TARGETS = (0.3, 1.0)  # 128-pixel noise images need more bits
CODECS = COMPRESS_CODECS


def results(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / "benchmark" / "results.parquet")


def stored(out: Path) -> dict[tuple[str, str], dict]:
    """(config, key) → stored sample (bitstream, png, json) of every compressed tar."""
    found = {}
    for tar in sorted((out / "compressed").glob("*/*.tar")):
        for sample in iter_samples(tar):
            found[(tar.parent.name, sample["__key__"])] = sample
    return found


@pytest.mark.parametrize("which", ["natural", "aigi"])
def test_writes_every_table_plot_and_card_config(which, request):
    out, _, output = request.getfixturevalue(which)
    bench = out / "benchmark"
    for name in ("results.parquet", "summary.csv", "summary.md", "bd_rate.csv"):
        assert (bench / name).is_file(), name
    for metric in PRESETS["offline"]:
        assert (bench / f"rd_{metric}.png").read_bytes()[:4] == b"\x89PNG"
    targets = CROP_TARGETS if which == "natural" else BUILD_TARGETS
    frame = results(out)
    codecs = CODECS if which == "natural" else AIGI_CODECS
    assert set(frame["codec"]) == set(codecs.split(",")) and set(frame["target_bpp"]) == set(targets)
    assert not list(out.rglob("*.tmp"))
    meta = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    configs = {c["config_name"] for c in meta["configs"]}
    with_data = {p.name for p in (out / "compressed").iterdir() if any(p.glob("*.tar"))}
    assert with_data and with_data <= configs
    assert "units:" in output or "encoded" in output


def test_natural_summary_marks_unreachable_targets(natural):
    out, _, output = natural
    summary = pd.read_csv(out / "benchmark" / "summary.csv")
    low = summary[summary["target_bpp"] == 0.1].set_index("codec")
    assert (low.loc[["avif", "webp", "jpeg"], "ok"] == 0).all()  # full-resolution baselines cannot go this low
    assert (low.loc[["avif", "webp", "jpeg"], "min_bpp_mean"] > 0.1).all()
    assert (low.loc[["misc-offline", "thumb-avif"], "ok"] == 3).all()
    assert set(summary["source_kind"]) == {"natural"} and set(summary["source"]) == {"kodak3"}
    text = (out / "benchmark" / "summary.md").read_text()
    assert "| jpeg | 0.1 | unreachable | 0/3 (min " in text
    assert "kodak3 (natural, 3 images)" in output and "unreach." in output


def test_each_row_bpp_is_eight_times_the_stored_bitstream_bytes_over_pixels(natural, aigi):
    for out, _, _ in (natural, aigi):
        frame = results(out)
        files = stored(out)
        ok = frame[frame["status"] == "ok"]
        assert len(ok) and len(files) == len(ok)
        for row in ok.itertuples():
            sample = files[(row.config, row.key)]
            bitstream = sample["bitstream"]
            assert row.bytes == len(bitstream)
            assert row.bpp == 8 * len(bitstream) / (row.width * row.height) <= row.target_bpp
            image, codec = decode_file(bitstream)
            assert codec.name == row.codec and image.size == (row.width, row.height)
            assert np.array_equal(np.asarray(image), np.asarray(Image.open(io.BytesIO(sample["png"])).convert("RGB")))
        unreachable = frame[frame["status"] == "unreachable"]
        assert unreachable["bytes"].isna().all()
        assert (unreachable["min_bpp"].dropna() > unreachable.loc[unreachable["min_bpp"].notna(), "target_bpp"]).all()


def _recompute(frame: pd.DataFrame, column: str) -> tuple[float, float]:
    values = frame[column].dropna().to_numpy()
    if len(values) == 0:
        return math.nan, math.nan
    if len(values) < MIN_CI_IMAGES:  # too few for an interval
        return float(values.mean()), math.nan
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    return float(values.mean()), float((high - low) / 2)


def test_every_summary_number_is_recomputed_from_results_parquet(natural, aigi):
    for out, _, _ in (natural, aigi):
        frame, summary = results(out), pd.read_csv(out / "benchmark" / "summary.csv")
        aigi_sources = frame.loc[frame["source_kind"] == "aigi", "source"].unique()
        for row in summary.itertuples():
            rows = frame[(frame["codec"] == row.codec) & (frame["target_bpp"] == row.target_bpp)]
            if row.source == "all-aigi":
                rows = rows[rows["source_kind"] == "aigi"]
            else:
                rows = rows[rows["source"] == row.source]
            ok = rows[rows["status"] == "ok"]
            assert (row.images, row.ok) == (len(rows), len(ok))
            assert row.unreachable == (rows["status"] == "unreachable").sum()
            # the images every codec of the set reached at this target
            at = frame[frame["target_bpp"] == row.target_bpp]
            at = at[at["source_kind"] == "aigi"] if row.source == "all-aigi" else at[at["source"] == row.source]
            per_codec = [
                set(zip(g["source"], g["key"], strict=True)) for _, g in at[at["status"] == "ok"].groupby("codec")
            ]
            shared = set.intersection(*per_codec) if len(per_codec) == at["codec"].nunique() else set()
            both = ok[np.array([(s, k) in shared for s, k in zip(ok["source"], ok["key"], strict=True)], dtype=bool)]
            assert row.common_images == len(shared), (row.source, row.codec, row.target_bpp)
            for column in ["bpp", *PRESETS["offline"]]:
                mean, half = _recompute(ok, column)
                got_mean = getattr(row, "bpp_mean" if column == "bpp" else f"{column}_mean")
                got_half = getattr(row, "bpp_ci95" if column == "bpp" else f"{column}_ci95")
                assert got_mean == pytest.approx(mean, rel=1e-9, nan_ok=True), (row.source, row.codec, column)
                assert got_half == pytest.approx(half, rel=1e-9, nan_ok=True), (row.source, row.codec, column)
                common = getattr(row, "bpp_common_mean" if column == "bpp" else f"{column}_common_mean")
                assert common == pytest.approx(_recompute(both, column)[0], rel=1e-9, nan_ok=True), column
        if len(aigi_sources) > 1:
            assert "all-aigi" in set(summary["source"])


def test_metric_values_agree_with_pyiqa_on_the_stored_images(natural, tmp_path):
    out, _, _ = natural
    frame, files = results(out), stored(out)
    ok = frame[frame["status"] == "ok"].groupby("config").head(1)  # one image per codec and target
    originals = Path(json.loads((out / "compress.json").read_text())["sources"]["kodak3"]["root"])
    for name in PRESETS["offline"]:
        metric, tolerance = pyiqa_reference(name)
        for row in ok.itertuples():
            rec = tmp_path / f"{row.config}-{row.key}.png"
            rec.write_bytes(files[(row.config, row.key)]["png"])
            ref = originals / row.origin
            want = float(metric(str(rec), str(ref)) if metric.metric_mode == "FR" else metric(str(rec)))
            assert getattr(row, name) == pytest.approx(want, rel=1e-4, abs=tolerance), (name, row.config, row.key)


def test_load_dataset_yields_bitstream_reconstruction_and_scores(natural, aigi):
    out, _, _ = natural
    ds = datasets.load_dataset(str(out), "misc-offline-0.1", split="train")
    assert ds.num_rows == 3
    frame = results(out).set_index(["config", "key"])
    for row in ds:
        meta = row["json"]
        assert isinstance(row["bitstream"], bytes) and isinstance(row["png"], Image.Image)
        assert row["png"].size == (meta["width"], meta["height"])
        assert meta["bpp"] == 8 * len(row["bitstream"]) / (meta["width"] * meta["height"])
        scores = {s["name"]: s["value"] for s in meta["scores"]}
        assert set(scores) == set(PRESETS["offline"])
        assert scores["psnr"] == frame.loc[("misc-offline-0.1", row["__key__"]), "psnr"]
    build, _, _ = aigi
    assert datasets.load_dataset(str(build), split="train").num_rows == 12  # the build's own configs still load
    ds = datasets.load_dataset(str(build), "misc-offline-1", split="train")
    assert ds.num_rows == 12 and {r["json"]["source_kind"] for r in ds} == {"aigi"}


def test_aigi_sets_stay_apart_from_natural_ones_and_misc_offline_sends_no_text(aigi):
    out, _, output = aigi
    frame = results(out)
    assert set(frame["source"]) == {"tiny-sdxl", "tiny-pixart"} and set(frame["source_kind"]) == {"aigi"}
    summary = pd.read_csv(out / "benchmark" / "summary.csv")
    assert {"tiny-sdxl", "tiny-pixart", "all-aigi"} == set(summary["source"])
    for (config, _), sample in stored(out).items():
        if config.startswith("misc-offline"):
            layers = json.loads(json.loads(sample["json"])["info"])["layers"]
            assert set(layers) == {"pixel"}  # its resize decoder reads no text: not a byte of the prompt is sent
    misc = frame[(frame["codec"] == "misc-offline") & (frame["status"] == "ok")]
    # misc-offline's files carry no semantic layer: its fidelity is undefined (— in the tables), not a recall of 0
    assert (
        misc[["semantic_object_recall", "semantic_object_precision", "semantic_description_similarity"]]
        .isna()
        .all(axis=None)
    )
    assert frame["semantic_object_recall"].isna().all()  # no codec here has a semantic layer
    summary_md = (out / "benchmark" / "summary.md").read_text()
    assert "0.0000 ± 0.0000" not in summary_md
    assert not frame["oracle"].any()
    assert "tiny-sdxl (AIGI, 6 images)" in output and "all-aigi (AIGI, 12 images)" in output


def test_second_run_reuses_every_unit_and_gives_the_same_tables(natural, aigi):
    for out, args, _ in (natural, aigi):
        before = {p: p.stat().st_mtime_ns for p in (out / "compressed").glob("*/*")}
        table, summary = results(out), (out / "benchmark" / "summary.csv").read_bytes()
        output = run_cli(*args).output
        assert " 0 encoded" in output and "0 rescored" in output
        assert {p: p.stat().st_mtime_ns for p in (out / "compressed").glob("*/*")} == before
        pd.testing.assert_frame_equal(results(out), table)
        assert (out / "benchmark" / "summary.csv").read_bytes() == summary


def test_a_lost_unit_is_redone_alone_and_added_metrics_are_rescored_without_encoding(natural):
    out, args, _ = natural
    table = results(out)
    (out / "compressed" / "thumb-avif-0.1" / "kodak3-00000.stats.json").unlink()  # as if killed before the marker
    output = run_cli(*args, "--workers", "0").output  # redone in this process, without the pool
    assert " 1 encoded" in output
    again = results(out)
    same = ["key", "codec", "target_bpp", "status", "bytes", "bpp", "bitstream_sha256", *PRESETS["offline"]]
    pd.testing.assert_frame_equal(again[same], table[same])  # deterministic codecs: the same files and scores

    bitstreams = {k: s["bitstream"] for k, s in stored(out).items()}
    extra = [a if a != "offline" else "offline,vif" for a in args]
    output = run_cli(*extra).output
    assert " 0 encoded" in output and "rescored" in output and " 0 rescored" not in output
    rescored = results(out)
    assert {k: s["bitstream"] for k, s in stored(out).items()} == bitstreams
    ok = rescored["status"] == "ok"
    assert rescored.loc[ok, "vif"].notna().all() and (rescored.loc[ok, "vif"] > 0).all()
    pd.testing.assert_frame_equal(rescored[same], table[same])
    ds = datasets.load_dataset(str(out), "thumb-avif-0.5", split="train")
    assert all("vif" in {s["name"] for s in row["json"]["scores"]} for row in ds)


def test_bd_rate_against_the_anchor(natural):
    out, _, _ = natural
    bd = pd.read_csv(out / "benchmark" / "bd_rate.csv")
    assert set(bd["anchor"]) == {"thumb-avif"} and "thumb-avif" not in set(bd["codec"])
    psnr = bd[(bd["metric"] == "psnr")].set_index("codec")
    assert np.isfinite(psnr.loc["misc-offline", "bd_rate_percent"])  # both reached every image at both targets
    assert psnr.loc["jpeg", "note"].startswith("fewer than 2 targets")  # 0.1 bpp was out of reach


def test_bad_input_gets_one_line_and_writes_nothing(crops, tmp_path):
    out = tmp_path / "out"
    base = ["compress", "--images", crops, "--out", out, "--bpp", "0.1", "--quiet"]
    cases = [
        (["--codecs", "misc", "--metrics", "offline"], "codec 'misc'"),
        (["--codecs", "thumb-avif", "--metrics", "lpips"], "metric 'lpips'"),
        (["--codecs", "nope", "--metrics", "offline"], "unknown codec 'nope'"),
        (["--codecs", "thumb-avif", "--metrics", "psnrr"], "unknown metric 'psnrr'"),
    ]
    for extra, message in cases:
        result = run_cli(*base, *extra, check=False)
        assert result.exit_code == 1 and message in result.output, result.output
        # one error line (a library may print a "Downloading ..." notice before it, as it does on a connected machine)
        assert "Traceback" not in result.output
        assert sum(line.startswith("Error: ") for line in result.output.splitlines()) == 1
        assert not (out / "compressed").exists()
    assert "--metrics offline" in run_cli(*base, "--codecs", "jpeg", "--metrics", "lpips", check=False).output
    result = run_cli("compress", "--images", crops, "--codecs", "jpeg", check=False)
    assert result.exit_code == 1 and "--out" in result.output
    result = run_cli("compress", crops, "--codecs", "jpeg", check=False)
    assert result.exit_code == 1 and "not an aigi-scd build" in result.output
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = run_cli("compress", "--images", crops, "--out", foreign, "--codecs", "jpeg", "--metrics", "psnr", check=0)
    assert result.exit_code == 1 and "did not write" in result.output and (foreign / "notes.txt").read_text() == "mine"


def test_set_level_fid_kid_per_codec_and_target_are_cached_across_runs(crops, tmp_path):
    save_random_fid_inception()  # Inception weights cannot be downloaded here: random ones, loaded by pyiqa itself
    out = tmp_path / "out"
    args = ["compress", "--images", crops, "--out", out, "--codecs", "thumb-avif", "--bpp", "0.5"]
    run_cli(*args, "--metrics", "psnr,set", "--quiet")
    summary = pd.read_csv(out / "benchmark" / "summary.csv").iloc[0]
    assert summary["ok"] == 3 and summary["fid"] > 0 and np.isfinite(summary["kid"])
    assert "fid ↓" in (out / "benchmark" / "summary.md").read_text()
    assert (out / "benchmark" / "rd_fid.png").is_file()

    rec_dir, ref_dir = tmp_path / "rec", tmp_path / "ref"
    rec_dir.mkdir()
    ref_dir.mkdir()
    for (_, key), sample in stored(out).items():
        (rec_dir / f"{key}.png").write_bytes(sample["png"])
        shutil.copy(crops / f"{key.removeprefix('kodak3-')}.png", ref_dir / f"{key}.png")
    # pyiqa's own folder features, read back from the PNGs (what its folder metric computes its KID from): the
    # same KID, and the same FID (formula checked against pyiqa's in test_metrics; pyiqa's own FID takes 25 s in
    # scipy's sqrtm).
    fid = pyiqa.create_metric("fid", device="cpu")
    features = [
        get_folder_features(str(d), fid.net.model, num_workers=0, device=torch.device("cpu"), verbose=False)
        for d in (rec_dir, ref_dir)
    ]
    np.random.seed(0)
    assert summary["kid"] == pytest.approx(maximum_mean_discrepancy(*features), rel=1e-6)
    assert summary["fid"] == pytest.approx(frechet_distance(*features), rel=1e-6)

    cache = out / "benchmark" / "set_scores.json"
    stamp = cache.stat().st_mtime_ns
    run_cli(*args, "--metrics", "psnr,set", "--quiet")
    assert cache.stat().st_mtime_ns == stamp  # same files: nothing recomputed
    assert pd.read_csv(out / "benchmark" / "summary.csv").iloc[0]["fid"] == summary["fid"]
