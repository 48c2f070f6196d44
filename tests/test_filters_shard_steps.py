"""Shard steps in real builds: near-duplicates across models and seeds with exact resume, and best-of-N."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import REPO

from aigi_scd.build.run import BuildConfig, Runtime, build, plan_shards
from aigi_scd.dataset.shards import iter_samples, model_data_dir, reject_name, shard_name, stats_name
from aigi_scd.filters.preset import load_filter_preset
from aigi_scd.pipelines.card import load_cards
from aigi_scd.prompts import load_suite, select_prompts


def samples(out: Path) -> dict[str, tuple[bytes | None, dict]]:
    """Key → (png, json without timings) of every kept and rejected sample of a build."""
    found = {}
    for tar in sorted(out.glob("*/*/*.tar")):
        for s in iter_samples(tar):
            meta = json.loads(s["json"])
            meta.pop("timing")
            found[s["__key__"]] = (s.get("png"), meta)
    return found


def twin_card(tmp_path: Path) -> str:
    """A second card on the same tiny pipeline: it draws the same images as tiny-sdxl (seeds do not
    depend on the model), so every one of its images duplicates one of tiny-sdxl's."""
    text = (REPO / "pipelines" / "tiny-sdxl.yaml").read_text().replace("name: tiny-sdxl", "name: tiny-twin")
    path = tmp_path / "tiny-twin.yaml"
    path.write_text(text)
    return str(path)


def twin_build(tmp_path: Path, out: Path, shard_size: int = 2):
    config = BuildConfig(
        load_cards(f"tiny-sdxl,{twin_card(tmp_path)}"),
        select_prompts(load_suite("starter"), 3, 0),
        "starter",
        seed=0,
        shard_size=shard_size,
        filters=load_filter_preset("offline"),
    )
    return build(config, out, Runtime(batch_size=2, progress=False))


def test_duplicates_across_models_are_rejected_and_resume_keeps_exactly_the_same(tmp_path):
    reference = tmp_path / "reference"
    report = twin_build(tmp_path, reference)
    assert [(m.kept, m.rejected) for m in report.models] == [(3, 0), (0, 3)]
    reference_samples = samples(reference)
    for key, (png, meta) in reference_samples.items():
        if meta["model"] == "tiny-twin":
            original = key.replace("tiny-twin", "tiny-sdxl")
            assert meta["reason"] == f"dedup: near-duplicate of {original} (perceptual-hash distance 0 ≤ 6)"
            assert png == reference_samples[original][0]
    stats = json.loads((model_data_dir(reference, "tiny-twin") / stats_name(0)).read_text())
    assert stats["rejects_by_filter"] == {"dedup": 2} and stats["filter_counts"]["dedup"] == {"checked": 2, "passed": 0}

    # As if killed: shards missing in the middle and at the end of the plan (their stats gone, tars too).
    resumed = tmp_path / "resumed"
    shutil.copytree(reference, resumed)
    for model, index in (("tiny-sdxl", 1), ("tiny-twin", 0), ("tiny-twin", 1)):
        (model_data_dir(resumed, model) / stats_name(index)).unlink()
        (model_data_dir(resumed, model) / shard_name(index)).unlink(missing_ok=True)
        (resumed / "rejects" / model / reject_name(index)).unlink(missing_ok=True)
    # ...and one finished shard whose stats lack the dedup state: it is rebuilt from the shard's images.
    first = model_data_dir(resumed, "tiny-sdxl") / stats_name(0)
    first.write_text(json.dumps({k: v for k, v in json.loads(first.read_text()).items() if k != "filter_state"}))
    report = twin_build(tmp_path, resumed)
    assert [m.shards_skipped for m in report.models] == [1, 0]
    assert samples(resumed) == reference_samples


def test_shards_never_split_a_prompts_images():
    items = list(range(10))
    assert [len(s) for s in plan_shards(items, 4, 3)] == [3, 3, 3, 1]
    assert [len(s) for s in plan_shards(items, 7, 3)] == [6, 4]
    assert [len(s) for s in plan_shards(items, 2, 3)] == [3, 3, 3, 1]
    assert [len(s) for s in plan_shards(items, 4, 1)] == [4, 4, 2]


def best_of_build(tmp_path: Path, out: Path, batch_size: int):
    preset = tmp_path / "best.yaml"
    preset.write_text(
        (REPO / "filters" / "offline.yaml").read_text() + "  - type: best_of_n\n    by: piqe\n    keep: 1\n"
    )
    config = BuildConfig(
        load_cards("tiny-sdxl"),
        select_prompts(load_suite("starter"), 2, 0),
        "starter",
        seed=0,
        images_per_prompt=3,
        shard_size=4,
        filters=load_filter_preset(str(preset)),
    )
    return build(config, out, Runtime(batch_size=batch_size, progress=False))


def test_best_of_n_keeps_the_top_candidate_per_prompt(tmp_path):
    report = best_of_build(tmp_path, tmp_path / "a", batch_size=2)
    assert (report.models[0].kept, report.models[0].rejected, report.models[0].shards) == (2, 4, 2)
    by_prompt: dict[str, list[dict]] = {}
    for _, meta in samples(tmp_path / "a").values():
        by_prompt.setdefault(meta["prompt"]["id"], []).append(meta)
    assert len(by_prompt) == 2
    for metas in by_prompt.values():
        assert len(metas) == 3
        piqe = {m["key"]: next(f["score"] for f in m["filters"] if f["name"] == "piqe") for m in metas}
        best = min(piqe, key=piqe.get)  # piqe: lower is better, from pyiqa's metadata
        for m in metas:
            if m["key"] == best:
                assert m["verdict"] == "keep" and m["filters"][-1] == {
                    "name": "best_of_n",
                    "score": 1.0,
                    "passed": True,
                    "reason": "",
                }
            else:
                assert m["verdict"] == "reject" and m["reason"].startswith("best_of_n: rank ")
                assert "of 3 candidates for this prompt by piqe" in m["reason"]


def test_shard_step_verdicts_do_not_depend_on_how_the_shard_was_batched(tmp_path):
    """Dedup and best-of-N judge the whole shard in plan order, so batch boundaries change nothing."""
    import numpy as np
    from test_filters_technical import candidate, jpeg, kodak

    from aigi_scd.prompts import PromptSource, PromptSpec

    preset = tmp_path / "best.yaml"
    preset.write_text(
        (REPO / "filters" / "offline.yaml").read_text() + "  - type: best_of_n\n    by: piqe\n    keep: 1\n"
    )
    prompts = [PromptSpec(f"prompt {i}", PromptSource("test")) for i in range(3)]
    rng = np.random.default_rng(3)

    def shard():
        cands = []
        for p, prompt in enumerate(prompts):
            for i in range(3):
                photo = kodak(3 * p + i)
                if i == 2:
                    photo = jpeg(kodak(3 * p))  # a near-duplicate of the prompt's first image
                noisy = np.clip(photo + rng.normal(0, 2, photo.shape), 0, 255).astype(np.uint8)
                c = candidate(noisy, f"m-{prompt.id}-{i}")
                c.prompt = prompt
                cands.append(c)
        return cands

    verdicts = []
    for batch_size in (1, 2, 4, 9):
        rng = np.random.default_rng(3)
        cands = shard()
        chain = load_filter_preset(str(preset))
        chain.prepare("cpu")
        for start in range(0, len(cands), batch_size):
            chain.score(cands[start : start + batch_size])
        chain.decide(cands)
        verdicts.append([[r.to_json() for r in c.results] for c in cands])
    assert verdicts[0] == verdicts[1] == verdicts[2] == verdicts[3]
    reasons = [results[-1]["reason"] for results in verdicts[0] if not results[-1]["passed"]]
    assert sum("near-duplicate" in r for r in reasons) == 3
    assert sum(r.startswith("rank 2 of 2 candidates") for r in reasons) == 3  # two per prompt survive dedup
