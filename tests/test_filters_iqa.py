"""pyiqa metrics as filters: direction and range from pyiqa's metadata, verdicts that match pyiqa called
directly (issue 4 acceptance 2), and clear errors for unknown metrics, bad thresholds, missing weights."""

from __future__ import annotations

import numpy as np
import pyiqa
import pytest
import torch
from conftest import TINY_MODELS, run_subprocess
from test_filters_technical import blur, candidate, kodak

from aigi_scd.errors import ConfigError
from aigi_scd.filters.preset import load_filter_preset
from aigi_scd.iqa import parse_score_range


def images():
    """Natural, blurred and noisy 128×128 images: a spread of PIQE and entropy scores."""
    rng = np.random.default_rng(7)
    out = []
    for i in range(8):
        photo = kodak(i)[::2, ::2]
        out.append(candidate(photo, f"photo{i}"))
        out.append(candidate(blur(photo, 1 + i % 3), f"blurred{i}"))
        noisy = np.clip(photo + rng.normal(0, 8 + 4 * i, photo.shape), 0, 255).astype(np.uint8)
        out.append(candidate(noisy, f"noisy{i}"))
    return out


def direct_scores(metric: str, cands) -> dict[str, float]:
    """pyiqa called directly, one image at a time."""
    model = pyiqa.create_metric(metric, device="cpu")
    scores = {}
    for c in cands:
        tensor = torch.from_numpy(np.array(c.pixels)).permute(2, 0, 1)[None].float() / 255.0
        scores[c.key] = float(model(tensor))
    return scores


def preset_file(tmp_path, body: str):
    path = tmp_path / "preset.yaml"
    path.write_text("filters:\n  - type: decodable\n" + body)
    return path


@pytest.mark.parametrize("metric", ["piqe", "entropy"])  # lower is better / higher is better
def test_a_weight_free_metric_rejects_exactly_the_images_on_the_wrong_side(tmp_path, metric):
    cands = images()
    direct = direct_scores(metric, cands)
    threshold = float(np.median(list(direct.values())))
    lower_better = pyiqa.create_metric(metric, device="cpu").lower_better
    assert lower_better is (metric == "piqe")  # what the test relies on, from pyiqa itself
    chain = load_filter_preset(
        str(preset_file(tmp_path, f"  - {{type: iqa, metric: {metric}, threshold: {threshold}}}\n"))
    )
    chain.prepare("cpu")
    for start in range(0, len(cands), 5):  # batched as a build batches them
        chain.score(cands[start : start + 5])
    wrong_side = {k for k, s in direct.items() if (s > threshold if lower_better else s < threshold)}
    rejected = {c.key for c in cands if c.rejected_by is not None}
    assert rejected == wrong_side and 0 < len(rejected) < len(cands)
    for c in cands:
        result = c.results[-1]
        assert result.name == metric and result.score == pytest.approx(direct[c.key], rel=1e-5, abs=1e-4)
        if not result.passed:
            assert f"{metric} " in result.reason and f"threshold {threshold:g}" in result.reason


def test_unknown_metric_lists_close_matches_from_pyiqa(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_filter_preset(str(preset_file(tmp_path, "  - {type: iqa, metric: topiq, threshold: 0.5}\n")))
    message = str(info.value)
    assert "unknown pyiqa metric 'topiq'" in message and "topiq_nr" in message and "filters[1]" in message
    assert all(m in pyiqa.list_models() for m in message.split("close matches: ")[1].rstrip(")").split(", "))


@pytest.mark.parametrize(
    ("metric", "threshold", "words"),
    [
        ("piqe", 150, "outside the score range of piqe (0, 100"),
        ("topiq_nr", 2.0, "outside the score range of topiq_nr"),
    ],
)
def test_threshold_outside_the_metric_range_is_refused_when_the_preset_loads(tmp_path, metric, threshold, words):
    path = preset_file(tmp_path, f"  - {{type: iqa, metric: {metric}, threshold: {threshold}}}\n")
    with pytest.raises(ConfigError) as info:
        load_filter_preset(str(path))
    assert words in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize(
    ("metric", "words"), [("psnr", "full-reference"), ("fid", "set of images"), ("clipscore", "type: clipscore")]
)
def test_metrics_that_cannot_filter_one_image_are_refused(tmp_path, metric, words):
    with pytest.raises(ConfigError, match=words):
        load_filter_preset(str(preset_file(tmp_path, f"  - {{type: iqa, metric: {metric}}}\n")))


def test_score_ranges_are_read_from_pyiqa_metadata():
    assert parse_score_range("0, 100").contains(100) and not parse_score_range("0, 100").contains(100.5)
    approx = parse_score_range("~0, ~1")
    assert (approx.low, approx.high) == (0.0, 1.0)
    open_ended = parse_score_range("0, ~")
    assert open_ended.high is None and open_ended.contains(1e9)
    chain = load_filter_preset("default")
    topiq = next(f for f in chain.filters if f.name == "topiq_nr")
    assert topiq.higher_is_better and topiq.score_range.text == "~0, ~1"


def test_missing_weights_stop_the_build_before_it_starts_with_one_line(tmp_path):
    """With no network and no cached weights (the test points the caches at empty folders and takes the
    hub offline), the learned default preset fails at once, naming the metric and the offline preset."""
    out = tmp_path / "out"
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "TORCH_HOME": str(tmp_path / "torch")}
    args = ["build", "--models", TINY_MODELS, "--num-prompts", "1", "--filters", "default", "--out", out, "--quiet"]
    result = run_subprocess(*args, env=env, timeout=300)
    assert result.returncode == 1
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and "Traceback" not in result.stderr
    assert "pyiqa metric 'topiq_nr'" in error[0] and "--filters offline" in error[0]
    assert not out.exists()  # failed before writing anything
