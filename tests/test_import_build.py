"""A build folder with two generated models and one imported source: the dataset card and every config load,
`compress` benchmarks the imported source as an AIGI set, and rerunning the build or re-filtering it leaves the
imported source alone (issue 14, acceptance 2). Also: `compress --images` carries sidecar prompts."""

from __future__ import annotations

import json
import shutil

import datasets
import pandas as pd
import yaml
from aigi_files import encoded, source_samples, write
from conftest import TINY_MODELS, run_cli

from aigi_scd.bench.sources import build_sources, folder_source


def test_two_generated_models_and_an_imported_source(tiny_build, tmp_path):
    out = tmp_path / "build"
    shutil.copytree(tiny_build, out)  # the session build stays as other tests expect it
    closed = tmp_path / "closed"
    write(closed / "a.jpg", encoded(60, "JPEG", quality=90))
    (closed / "a.txt").write_text("a glass teapot on a wooden table")
    write(closed / "b.png", encoded(61))
    (closed / "b.json").write_text(json.dumps({"prompt": "a fox in the snow", "generator": "imagen-3"}))
    write(closed / "c.webp", encoded(62, "WEBP", quality=75))
    (closed / "c.txt").write_text("a lantern in the rain")
    result = run_cli("import", closed, "--source", "closed", "--generator", "dall-e-3", "--out", out, "--quiet")
    assert "3 kept" in result.output

    manifest = json.loads((out / "build.json").read_text())
    assert manifest["models"] == TINY_MODELS.split(",") and [r["source"] for r in manifest["imports"]] == ["closed"]
    assert manifest["imports"][0]["preset"]["name"] == "offline"  # the build's preset, since none was given

    # The card: a config per source (each declaring its image members) plus the default one over all.
    front = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    names = [c["config_name"] for c in front["configs"]]
    assert names[:4] == ["default", "tiny-sdxl", "tiny-pixart", "closed"]
    features = {i["config_name"]: [f["name"] for f in i["features"]] for i in front["dataset_info"]}
    assert features["tiny-sdxl"][:3] == ["__key__", "__url__", "png"] and "jpg" not in features["tiny-sdxl"]
    assert {"png", "jpg", "webp"} <= set(features["closed"]) and {"png", "jpg", "webp"} <= set(features["default"])
    card = (out / "README.md").read_text()
    assert "## Sources" in card and "## Imported sources" in card and "Lossy sources: `closed`" in card
    assert "aigi-scd import" in card.split("## Reproduce")[1] and "aigi-scd build" in card.split("## Reproduce")[1]

    everything = datasets.load_dataset(str(out), split="train")
    assert everything.num_rows == 15
    assert sum(row["png"] is not None for row in everything) == 13  # 12 generated + b.png
    assert {row["json"]["imported"]["generator"] for row in everything if row["json"]["imported"]} == {
        "dall-e-3",
        "imagen-3",
    }
    assert all(row["json"]["imported"] is None for row in everything if row["json"]["card"]["repo"])
    for source, rows in (("tiny-sdxl", 6), ("tiny-pixart", 6), ("closed", 3)):
        assert datasets.load_dataset(str(out), source, split="train").num_rows == rows

    # compress: the imported source is an AIGI set like the generated ones, compressed from its own files.
    sources = {s.name: s for s in build_sources(out)}
    assert list(sources) == ["tiny-sdxl", "tiny-pixart", "closed"] and sources["closed"].kind == "aigi"
    originals = {i.key: i.data for i in sources["closed"].shards[0].items()}
    assert originals == {k: v["image"] for k, v in source_samples(out, "closed").items()}
    run_cli(
        "compress", out, "--codecs", "thumb-avif,jpeg", "--bpp", "1", "--metrics", "psnr", "--workers", "0", "--quiet"
    )
    table = pd.read_parquet(out / "benchmark" / "results.parquet")
    imported = table[table["source"] == "closed"]
    assert len(imported) == 6 and set(imported["source_kind"]) == {"aigi"} and set(imported["status"]) == {"ok"}
    summary = pd.read_csv(out / "benchmark" / "summary.csv")
    assert {"tiny-sdxl", "tiny-pixart", "closed", "all-aigi"} <= set(summary["source"])
    assert datasets.load_dataset(str(out), "jpeg-1", split="train").num_rows == 15
    assert datasets.load_dataset(str(out), "closed", split="train").num_rows == 3  # still loads beside them
    assert "no problems found" in run_cli("verify", out, "--quiet").output  # two models and an import

    # verify reads the imported originals too: one flipped byte in the stored JPEG is found and named.
    damaged = tmp_path / "damaged"
    shutil.copytree(out, damaged)
    tar = damaged / "data" / "closed" / "train-00000.tar"
    blob = bytearray(tar.read_bytes())
    at = blob.index(bytes.fromhex("ffd8ffe0")) + 200  # inside the JPEG member
    blob[at] ^= 0xFF
    tar.write_bytes(bytes(blob))
    found = run_cli("verify", damaged, "--quiet", check=False)
    assert found.exit_code == 1 and "closed shard 0" in found.output and "jpg's sha256" in found.output

    # Rerunning the build resumes it (nothing regenerated) and keeps the imported source.
    args = ["build", "--models", TINY_MODELS, "--num-prompts", 6, "--seed", 0, "--out", out, "--quiet"]
    rerun = run_cli(*args)
    assert "tiny-sdxl                 6         0       1        1" in rerun.output
    assert json.loads((out / "build.json").read_text())["imports"] == manifest["imports"]
    assert datasets.load_dataset(str(out), "closed", split="train").num_rows == 3

    # Re-filtering judges the generated models only; the imported source and its config stay.
    before = {p.name: p.read_bytes() for p in (out / "data" / "closed").iterdir()}
    run_cli("filter", out, "--preset", "offline", "--quiet")
    assert {p.name: p.read_bytes() for p in (out / "data" / "closed").iterdir()} == before
    assert datasets.load_dataset(str(out), "closed", split="train").num_rows == 3
    assert datasets.load_dataset(str(out), split="train").num_rows == 15


def test_an_import_first_then_a_build_into_the_same_folder(tmp_path):
    out = tmp_path / "out"
    closed = tmp_path / "closed"
    write(closed / "a.png", encoded(70))
    (closed / "a.txt").write_text("a paper boat in a puddle")
    run_cli("import", closed, "--source", "closed", "--out", out, "--filters", "offline", "--quiet")
    assert run_cli("verify", out, "--quiet").exit_code == 0  # a folder of imports alone verifies too
    refused = run_cli("filter", out, "--preset", "offline", check=False)
    assert refused.exit_code == 1 and "holds only imported sources" in refused.output
    run_cli("build", "--models", "tiny-sdxl", "--num-prompts", 2, "--seed", 0, "--out", out, "--quiet")
    manifest = json.loads((out / "build.json").read_text())
    assert manifest["models"] == ["tiny-sdxl"] and [r["source"] for r in manifest["imports"]] == ["closed"]
    assert datasets.load_dataset(str(out), split="train").num_rows == 3


def test_compress_images_reads_sidecar_prompts(tmp_path):
    folder = tmp_path / "photos"
    for i, name in enumerate(("a", "b", "c")):
        write(folder / f"{name}.png", encoded(80 + i))
    (folder / "a.txt").write_text("a harbour at dawn\n")
    (folder / "b.json").write_text(json.dumps({"prompt": "a red tram", "objects": ["tram"], "seed": 5}))
    items = {item.origin: item for item in folder_source(folder).shards[0].items()}
    assert items["a.png"].prompt["text"] == "a harbour at dawn"
    assert items["b.png"].prompt["text"] == "a red tram" and items["b.png"].prompt["objects"] == [
        {"name": "tram", "detail": ""}
    ]
    assert json.loads(items["b.png"].prompt["extra"]) == {"seed": 5}
    assert items["c.png"].prompt is None  # no sidecar: no prompt
    (folder / "c.json").write_text("{not json")
    args = ("--out", tmp_path / "o", "--codecs", "jpeg", "--bpp", "1", "--metrics", "psnr", "--workers", "0")
    broken = run_cli("compress", "--images", folder, *args, "--quiet", check=False)
    assert broken.exit_code == 1 and "c.json: not valid JSON" in broken.output
