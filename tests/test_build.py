"""`aigi-scd build` end to end with the tiny offline pipelines (issue 2 acceptance 2 and 3)."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import datasets
import numpy as np
import pytest
import yaml
from conftest import TINY_MODELS, run_cli
from PIL import Image

from aigi_scd.dataset.shards import iter_samples
from aigi_scd.filters.preset import load_filter_preset


def pngs(out: Path) -> dict[str, bytes]:
    """Key → PNG bytes of every kept sample of a build."""
    found = {}
    for tar in sorted((out / "data").glob("*/train-*.tar")):
        for sample in iter_samples(tar):
            found[sample["__key__"]] = sample["png"]
    return found


def test_load_dataset_sees_every_sample_with_matching_sizes(tiny_build):
    ds = datasets.load_dataset(str(tiny_build), split="train")
    assert ds.num_rows == 12
    for row in ds:
        assert isinstance(row["png"], Image.Image)
        assert row["png"].size == (row["json"]["width"], row["json"]["height"])
    assert datasets.load_dataset(str(tiny_build), "tiny-pixart", split="train").num_rows == 6
    assert datasets.load_dataset(str(tiny_build), "tiny-sdxl", split="train").num_rows == 6


def test_pixart_resolution_binning_returns_the_requested_size(tiny_build):
    ds = datasets.load_dataset(str(tiny_build), "tiny-pixart", split="train")
    assert {row["png"].size for row in ds} == {(192, 128)}


def test_sample_json_holds_full_provenance(tiny_build):
    ds = datasets.load_dataset(str(tiny_build), "tiny-sdxl", split="train")
    for row in ds:
        meta = row["json"]
        key = row["__key__"]
        assert key == meta["key"] == f"tiny-sdxl-{meta['prompt']['id']}-{meta['seed']}" and "." not in key
        assert meta["prompt"]["text"] and meta["prompt"]["category"] and meta["prompt"]["objects"]
        assert meta["card"]["repo"] == "tiny:sdxl"
        assert meta["card"]["pipeline_class"] == "StableDiffusionXLPipeline"
        assert meta["card"]["scheduler_class"] == "EulerDiscreteScheduler"
        assert json.loads(meta["card"]["scheduler_config"])["beta_schedule"] == "scaled_linear"
        assert (meta["generation"]["steps"], meta["generation"]["guidance"]) == (4, 5.0)
        assert meta["generation"]["dtype"] == "float32" and meta["generation"]["device"] == "cpu"
        assert set(meta["versions"]) >= {"torch", "diffusers", "transformers", "aigi_scd"}
        assert meta["timing"]["image_seconds"] > 0
        assert [f["name"] for f in meta["filters"]] == load_filter_preset(
            "offline"
        ).names  # tiny models: offline preset
        assert all(f["passed"] for f in meta["filters"])
        assert meta["verdict"] == "keep" and meta["reason"] is None
    raw = pngs(tiny_build)
    for key, png in raw.items():
        sample = next(
            s for t in (tiny_build / "data").glob("*/train-*.tar") for s in iter_samples(t) if s["__key__"] == key
        )
        assert json.loads(sample["json"])["sha256"] == hashlib.sha256(png).hexdigest()


def test_layout_stats_manifest_and_card(tiny_build):
    for model in TINY_MODELS.split(","):
        stats = json.loads((tiny_build / "data" / model / "00000.stats.json").read_text())
        assert stats["planned"] == 6 and stats["kept"] + stats["rejected"] == 6
        assert len(stats["keys"]) == stats["kept"]
    assert not list(tiny_build.rglob("*.tmp"))
    manifest = json.loads((tiny_build / "build.json").read_text())
    assert manifest["config"]["seed"] == 0 and len(manifest["config"]["prompt_ids"]) == 6
    text = (tiny_build / "README.md").read_text()
    meta = yaml.safe_load(text.split("---")[1])
    names = [c["config_name"] for c in meta["configs"]]
    assert names == ["default", "tiny-sdxl", "tiny-pixart"]
    assert "| tiny-sdxl | `tiny:sdxl` |" in text


def test_same_command_in_a_second_folder_gives_identical_pngs(tiny_build, tmp_path):
    out = tmp_path / "again"
    run_cli("build", "--models", TINY_MODELS, "--num-prompts", 6, "--seed", 0, "--out", out, "--quiet")
    first, second = pngs(tiny_build), pngs(out)
    assert len(first) == 12 and first == second


def test_rerun_skips_finished_shards(tiny_build):
    before = {p: p.read_bytes() for p in (tiny_build / "data").rglob("*.tar")}
    result = run_cli("build", "--models", TINY_MODELS, "--num-prompts", 6, "--seed", 0, "--out", tiny_build, "--quiet")
    assert "tiny-sdxl                 6         0       1        1" in result.output
    assert {p: p.read_bytes() for p in (tiny_build / "data").rglob("*.tar")} == before


def test_a_different_configuration_is_refused_unless_overwrite(tmp_path):
    out = tmp_path / "out"
    args = ["build", "--models", "tiny-sdxl", "--num-prompts", 2, "--out", out, "--quiet"]
    run_cli(*args, "--seed", 0)
    refused = run_cli(*args, "--seed", 1, check=False)
    assert refused.exit_code != 0
    assert "different configuration" in refused.output and "seed: was 0, now 1" in refused.output
    assert "--overwrite" in refused.output
    run_cli(*args, "--seed", 1, "--overwrite")
    assert json.loads((out / "build.json").read_text())["config"]["seed"] == 1
    assert len(pngs(out)) == 2


def test_a_foreign_folder_is_never_touched(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    result = run_cli("build", "--models", "tiny-sdxl", "--num-prompts", 1, "--out", out, "--overwrite", check=False)
    assert result.exit_code != 0 and "holds no aigi-scd build" in result.output
    assert (out / "precious.txt").read_text() == "keep me"


def test_a_seed_regenerates_its_image_alone(tiny_build):
    """One image regenerated from its json at batch size 1 matches the batched original."""
    from aigi_scd.pipelines.card import load_card
    from aigi_scd.pipelines.loading import load_pipeline
    from aigi_scd.pipelines.runner import WorkItem, generate
    from aigi_scd.prompts import PromptObject, PromptSource, PromptSpec

    row = datasets.load_dataset(str(tiny_build), "tiny-sdxl", split="train")[3]
    meta = row["json"]
    prompt = PromptSpec(
        text=meta["prompt"]["text"],
        source=PromptSource(**meta["prompt"]["source"]),
        objects=tuple(PromptObject(**o) for o in meta["prompt"]["objects"]),
    )
    loaded = load_pipeline(load_card("tiny-sdxl"), "cpu", __import__("torch").float32)
    item = WorkItem("tiny-sdxl", prompt, meta["index"], meta["seed"])
    (image,) = next(generate(loaded, [item], batch_size=1))
    stored = np.asarray(row["png"].convert("RGB")).astype(int)
    assert image.item.key == row["__key__"]
    assert np.abs(image.pixels.astype(int) - stored).max() <= 2


def test_rejected_images_go_to_rejects_with_their_reason(tmp_path):
    from aigi_scd.build.run import BuildConfig, Runtime, build
    from aigi_scd.filters import Decodable, NotBlank
    from aigi_scd.pipelines.card import load_cards
    from aigi_scd.prompts import load_suite, select_prompts

    out = tmp_path / "strict"
    config = BuildConfig(load_cards("tiny-sdxl"), select_prompts(load_suite("starter"), 3, 0), "starter", 0)
    strict = [Decodable(), NotBlank(min_std=1000.0)]  # no image is that varied: every one is rejected
    report = build(config, out, Runtime(progress=False), filters=strict)
    assert (report.models[0].kept, report.models[0].rejected) == (0, 3)
    stats = json.loads((out / "data" / "tiny-sdxl" / "00000.stats.json").read_text())
    assert stats["rejects_by_filter"] == {"not_blank": 3} and stats["kept"] == 0
    rejects = list(iter_samples(out / "rejects" / "tiny-sdxl" / "rejects-00000.tar"))
    assert len(rejects) == 3
    for sample in rejects:
        meta = json.loads(sample["json"])
        assert meta["verdict"] == "reject" and meta["reason"].startswith("not_blank: near-constant image")
        Image.open(io.BytesIO(sample["png"])).verify()
    assert not list((out / "data" / "tiny-sdxl").glob("*.tar"))
    # source | filter | threshold | checked | passed | rejected | pass rate | ...
    assert "| tiny-sdxl | not_blank | min_std 1000 | 3 | 0 | 3 | 0.0% |" in (out / "README.md").read_text()


@pytest.mark.parametrize("bad", [["--batch-size", "0"], ["--images-per-prompt", "0"], ["--num-prompts", "0"]])
def test_bad_numbers_are_refused_clearly(tmp_path, bad):
    result = run_cli("build", "--models", "tiny-sdxl", "--out", tmp_path / "o", *bad, check=False)
    assert result.exit_code == 2 and f"Invalid value for '{bad[0]}': 0 is not in the range x>=1" in result.output
    assert not (tmp_path / "o").exists()  # refused while parsing: before any prompt is made or folder created


def test_the_recorded_command_keeps_the_dtype(tmp_path):
    """--dtype decides which images a build holds (a resume in another precision is refused), so the command that
    build.json records, and that verify prints, keeps it; --batch-size and --workers change only how it runs."""
    out = tmp_path / "fp32"
    args = ["build", "--models", "tiny-sdxl", "--num-prompts", 1, "--seed", 0, "--out", out]
    run_cli(*args, "--dtype", "float32", "--batch-size", 1, "--workers", 0, "--quiet")
    command = json.loads((out / "build.json").read_text())["command"]
    assert "--dtype float32" in command and "--batch-size" not in command and "--workers" not in command
