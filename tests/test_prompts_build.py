"""`aigi-scd build --prompts` from every source writes the structured prompt into each sample (acceptance 4),
and prompts longer than a model's text encoder reads are reported per model."""

from __future__ import annotations

import json

import datasets
import pytest
from conftest import REPO, run_cli

from aigi_scd.dataset.shards import iter_samples
from aigi_scd.prompts.sources import load_prompts

DATA = REPO / "tests" / "data" / "prompts"
SOURCES = {
    "generator": "aigi-scd",
    "list-suite": "starter",
    "partiprompts": str(DATA / "PartiPrompts.tsv"),
    "geneval": str(DATA / "evaluation_metadata.jsonl"),
    "drawbench": str(DATA / "DrawBench.csv"),
    "text": str(DATA / "my_prompts.txt"),
    "promptspec": str(DATA / "prompt_specs.jsonl"),
}


@pytest.mark.parametrize("source", list(SOURCES))
def test_tiny_build_from_each_source_stores_the_structured_prompt(tmp_path, source):
    out = tmp_path / f"from-{source}"  # a unique folder name: datasets caches a local build by its name
    result = run_cli(
        "build", "--models", "tiny-sdxl", "--prompts", SOURCES[source], "--num-prompts", 2, "--seed", 0,
        "--out", out, "--quiet",
    )  # fmt: skip
    assert "prompts: 2 " in result.output
    expected = {p.id: p.to_json() for p in load_prompts(SOURCES[source], 2, seed=0).prompts}
    ds = datasets.load_dataset(str(out), split="train")
    assert ds.num_rows == 2
    assert {row["json"]["prompt"]["id"] for row in ds} == set(expected)
    for row in ds:
        prompt = row["json"]["prompt"]
        assert prompt == expected[prompt["id"]]  # every field (category, style, objects, source, extra) as written
        generation = row["json"]["generation"]
        assert generation["max_prompt_tokens"] == 77 and generation["prompt_tokens"] > 2
        assert generation["prompt_truncated"] is False
    manifest = json.loads((out / "build.json").read_text())
    assert manifest["config"]["suite"] == SOURCES[source] and f"--prompts {SOURCES[source]}" in manifest["command"]


def test_geneval_objects_and_metadata_reach_the_dataset(tmp_path):
    lines = (DATA / "evaluation_metadata.jsonl").read_text().splitlines()
    prompts = tmp_path / "evaluation_metadata.jsonl"
    prompts.write_text("\n".join(lines[3:5]) + "\n")  # the colors and position lines
    out = tmp_path / "geneval-position"
    run_cli("build", "--models", "tiny-sdxl", "--prompts", prompts, "--out", out, "--quiet", "--seed", 0)
    rows = {
        row["json"]["prompt"]["text"]: row["json"]["prompt"] for row in datasets.load_dataset(str(out), split="train")
    }
    assert len(rows) == 2
    position = rows["a photo of a dog right of a teddy bear"]
    assert position["category"] == "position"
    assert position["objects"] == [
        {"name": "teddy bear", "detail": "count 1"},
        {"name": "dog", "detail": "count 1, right of teddy bear"},
    ]
    assert json.loads(position["extra"])["include"][1]["position"] == ["right of", 0]
    assert position["source"] == {"suite": "evaluation_metadata.jsonl", "line": 2}
    assert rows["a photo of a pink car"]["objects"] == [{"name": "car", "detail": "pink, count 1"}]


LONG = (
    "a portrait photograph of an elderly fisherman with a grey beard and a knitted blue hat standing on a wooden "
    "pier at dawn while seagulls circle above the calm harbor and small boats rest on the water near old stone "
    "houses "
) * 2


def test_prompts_longer_than_a_models_limit_are_reported_per_model(tmp_path):
    prompts = tmp_path / "long.txt"
    prompts.write_text(f"a red fox in the snow\n{LONG.strip()}\n")
    out = tmp_path / "truncation"
    result = run_cli(
        "build", "--models", "tiny-sdxl,tiny-pixart", "--prompts", prompts, "--out", out, "--quiet", "--seed", 0
    )
    # CLIP reads 77 tokens, PixArt-Σ's T5 300: only tiny-sdxl truncates, in both its CLIP encoders
    assert "warning: tiny-sdxl reads at most 77 prompt tokens with CLIP-L and CLIP-G; 1 of 2 prompts" in result.output
    assert "tiny-pixart reads" not in result.output
    for model, limit, truncated in (("tiny-sdxl", 77, True), ("tiny-pixart", 300, False)):
        samples = [json.loads(s["json"]) for s in iter_samples(out / "data" / model / "train-00000.tar")]
        long = next(s["generation"] for s in samples if s["prompt"]["text"] == LONG.strip())
        short = next(s["generation"] for s in samples if s["prompt"]["text"] == "a red fox in the snow")
        assert long["max_prompt_tokens"] == limit and long["prompt_truncated"] is truncated
        assert long["prompt_tokens"] > 77 and short["prompt_truncated"] is False
        assert [e["truncated"] for e in long["text_encoders"]] == [truncated] * len(long["text_encoders"])
        assert [e["name"] for e in long["text_encoders"]] == (["CLIP-L", "CLIP-G"] if truncated else ["T5"])
        stats = json.loads((out / "data" / model / "00000.stats.json").read_text())
        assert stats["prompts_truncated"] == int(truncated)
    ds = datasets.load_dataset(str(out), "tiny-sdxl", split="train")
    assert sorted(row["json"]["generation"]["prompt_truncated"] for row in ds) == [False, True]
