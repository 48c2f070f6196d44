"""`aigi-scd filter`: re-judge a finished build without regenerating (issue 4 acceptance 3 and 4)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml
from conftest import REPO, TINY_MODELS, run_cli
from test_filters_shard_steps import samples

from aigi_scd.build import refilter as refilter_module
from aigi_scd.build.refilter import refilter
from aigi_scd.dataset.shards import finished_shards, iter_samples
from aigi_scd.dataset.swap import JOURNAL, STAGING, finish_pending_swap
from aigi_scd.filters.preset import load_filter_preset


def files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def kept_piqe(out: Path) -> dict[str, float]:
    scores = {}
    for tar in sorted((out / "data").glob("*/train-*.tar")):
        for s in iter_samples(tar):
            meta = json.loads(s["json"])
            scores[s["__key__"]] = next(f["score"] for f in meta["filters"] if f["name"] == "piqe")
    return scores


@pytest.fixture()
def copy(tiny_build, tmp_path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(tiny_build, out)
    return out


@pytest.fixture()
def strict(tiny_build, tmp_path) -> tuple[Path, float]:
    """The offline preset with its PIQE threshold at the median score of tiny-sdxl's images: half of them fail."""
    threshold = float(np.median([s for k, s in kept_piqe(tiny_build).items() if k.startswith("tiny-sdxl-")]))
    text = (REPO / "filters" / "offline.yaml").read_text().replace("threshold: null", f"threshold: {threshold}")
    path = tmp_path / "strict.yaml"
    path.write_text(text)
    return path, threshold


def test_a_stricter_preset_moves_images_to_rejects_and_keeps_counts_consistent(tiny_build, copy, strict):
    preset, threshold = strict
    before = kept_piqe(tiny_build)
    failing = {k for k, s in before.items() if s > threshold}
    assert 0 < len(failing) < len(before) == 12

    assert datasets.load_dataset(str(copy), split="train").num_rows == 12  # cached by datasets, then changed below
    result = run_cli("filter", copy, "--preset", preset, "--quiet")
    assert f"{12 - len(failing)} images kept" in result.output

    after = samples(copy)
    assert set(after) == set(samples(tiny_build))  # every generated image is still there, kept or rejected
    for key, (png, meta) in after.items():
        assert png == samples(tiny_build)[key][0]  # not regenerated
        if key in failing:
            assert meta["verdict"] == "reject" and meta["reason"].startswith("piqe: piqe ")
            assert f"> threshold {threshold:g} (lower is better)" in meta["reason"]
        else:
            assert meta["verdict"] == "keep" and meta["reason"] is None
    for tar in (copy / "rejects").glob("*/*.tar"):
        assert {s["__key__"] for s in iter_samples(tar)} <= failing

    for model in TINY_MODELS.split(","):
        for stats in finished_shards(copy, model).values():
            assert stats["kept"] + stats["rejected"] == stats["planned"] == 6
            assert stats["preset"] == "strict" and stats["refiltered"] is True
            assert stats["rejects_by_filter"] == ({"piqe": stats["rejected"]} if stats["rejected"] else {})

    ds = datasets.load_dataset(str(copy), split="train")
    assert ds.num_rows == 12 - len(failing) and {row["__key__"] for row in ds} == set(before) - failing
    assert all(row["json"]["filters"][-2]["name"] == "piqe" for row in ds)

    manifest = json.loads((copy / "build.json").read_text())
    assert manifest["config"]["filters"] == load_filter_preset(str(preset)).identity()
    assert manifest["filter_commands"][-1].endswith(f"--preset {preset}")
    card = (copy / "README.md").read_text()
    for model in TINY_MODELS.split(","):
        rejected = sum(1 for k in failing if k.startswith(model + "-"))
        rate = f"{100 * (6 - rejected) / 6:.1f}%"
        # source | filter | threshold | checked | passed | rejected | pass rate | min | median | max
        assert f"| {model} | piqe | threshold {threshold:g} | 6 | {6 - rejected} | {rejected} | {rate} |" in card
        dedup = f"{6 - rejected} | {6 - rejected} | 0 | {'100.0%' if rejected < 6 else '–'}"
        assert f"| {model} | dedup | max_distance 6 | {dedup} |" in card
    assert f"aigi-scd filter {copy} --preset {preset}" in card
    assert yaml.safe_load(card.split("---")[1])["configs"][0]["config_name"] == "default"
    assert not (copy / STAGING).exists() and not list(copy.rglob("*.tmp"))

    # A build with the new preset is the same build: nothing to redo.
    build = run_cli("build", "--models", TINY_MODELS, "--num-prompts", 6, "--filters", preset, "--out", copy, "--quiet")
    assert "tiny-sdxl" in build.output and "       1        1" in build.output

    # The looser preset brings every image back, byte for byte as the original build wrote it.
    back = run_cli("filter", copy, "--preset", "offline", "--quiet")
    assert "12 images kept" in back.output
    original = files(tiny_build)
    for name, data in files(copy).items():
        if name.endswith(".tar"):
            assert original[name] == data, name
    assert not list((copy / "rejects").glob("*/*.tar"))


def test_a_crash_mid_filter_leaves_the_old_build_and_the_rerun_resumes(tiny_build, copy, strict, tmp_path, monkeypatch):
    preset, _ = strict
    reference = tmp_path / "reference"
    shutil.copytree(tiny_build, reference)
    refilter(reference, load_filter_preset(str(preset)), progress=False)

    real = refilter_module.filter_shard
    calls = []

    def crash_on_second_shard(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as a Ctrl-C (a SIGKILL leaves .tmp files too; they are discarded)
        return real(*args, **kwargs)

    monkeypatch.setattr(refilter_module, "filter_shard", crash_on_second_shard)
    before = files(copy)
    with pytest.raises(KeyboardInterrupt):
        refilter(copy, load_filter_preset(str(preset)), progress=False)
    assert {k: v for k, v in files(copy).items() if not k.startswith(STAGING)} == before
    assert (copy / STAGING).is_dir() and not (copy / STAGING / JOURNAL).exists()
    assert datasets.load_dataset(str(copy), split="train").num_rows == 12  # the old dataset, untouched

    monkeypatch.setattr(refilter_module, "filter_shard", real)
    report = refilter(copy, load_filter_preset(str(preset)), progress=False)
    assert report.resumed_shards == 1
    assert samples(copy) == samples(reference)


def test_an_interrupted_swap_stays_loadable_and_is_finished_by_the_next_command(copy, strict, monkeypatch):
    preset, _ = strict
    import aigi_scd.dataset.swap as swap

    real_replace = swap.os.replace
    moves = []

    def die_after_three(src, dst):
        if STAGING in str(src) and STAGING not in str(dst):  # a swap move (staging itself is written atomically too)
            if len(moves) == 3:
                raise SystemExit("killed mid-swap")
            moves.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(swap.os, "replace", die_after_three)
    with pytest.raises(SystemExit):
        refilter(copy, load_filter_preset(str(preset)), progress=False)
    monkeypatch.setattr(swap.os, "replace", real_replace)
    assert (copy / STAGING / JOURNAL).is_file()
    assert datasets.load_dataset(str(copy), split="train").num_rows > 0  # mixed old and new files, all whole

    assert finish_pending_swap(copy)
    assert not (copy / STAGING).exists()
    manifest = json.loads((copy / "build.json").read_text())
    assert manifest["config"]["filters"]["preset"] == "strict"
    kept = sum(s["kept"] for m in TINY_MODELS.split(",") for s in finished_shards(copy, m).values())
    assert datasets.load_dataset(str(copy), split="train").num_rows == kept < 12


def test_filter_refuses_folders_without_a_finished_build(tmp_path, copy):
    result = run_cli("filter", tmp_path / "nothing", "--preset", "offline", check=False)
    assert result.exit_code != 0 and "holds no aigi-scd build" in result.output
    (copy / "data" / "tiny-pixart" / "00000.stats.json").unlink()
    result = run_cli("filter", copy, "--preset", "offline", check=False)
    assert result.exit_code != 0 and "the build is unfinished (tiny-pixart: 1 of 1 shards to go)" in result.output
