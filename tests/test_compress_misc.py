"""`aigi-scd compress` with model-backed MISC codecs over a tiny build (issue 15): misc-tiny and a prompt oracle run
end to end in the main process; results rows and the summary carry semantic fidelity and the oracle mark, as do the
plot legends, bd_rate.csv, report.html, the compressed samples' json and the config names (issue 21); the cmc
metrics stop the command offline with one line that names their weights. The oracle preset's name does not say
oracle (tiny-prompt), so every mark comes from its semantic layer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli

from aigi_scd.bench.semantic_fidelity import COLUMNS

ORACLE = (
    "name: tiny-prompt\nkind: misc\nid: 203\n"
    "semantic: {backend: prompt}\n"
    "maps: {backend: clipseg, model: 'tiny:clipseg', grid: 8, threshold: 0.4}\n"
    "pixel: {speed: 8, search_speed: 10}\n"
    "decoder: {backend: diffusion, model: 'tiny:sdxl', steps: 2, region_steps: 2, seed: 0}\n"
)


@pytest.fixture(scope="module")
def compressed(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("compress-misc")
    build = root / "build"
    run_cli("build", "--models", "tiny-sdxl", "--num-prompts", 2, "--seed", 0, "--out", build, "--quiet")
    oracle = root / "tiny-prompt.yaml"
    oracle.write_text(ORACLE)
    args = ["compress", build, "--codecs", f"misc-tiny,{oracle},misc-offline", "--bpp", "0.5"]
    output = run_cli(*args, "--metrics", "psnr", "--workers", "0", "--quiet").output
    return build, output


def test_misc_tiny_rows_carry_semantic_fidelity(compressed):
    build, _ = compressed
    frame = pd.read_parquet(build / "benchmark" / "results.parquet")
    assert set(COLUMNS) <= set(frame.columns) and "oracle" in frame.columns
    assert set(frame["codec"]) == {"misc-tiny", "tiny-prompt", "misc-offline"} and (frame["status"] == "ok").all()
    vlm = frame[frame["codec"] == "misc-tiny"]
    assert not vlm["oracle"].any()
    assert vlm["semantic_object_recall"].between(0, 1).all()  # every generated prompt names an object
    assert vlm["semantic_description_similarity"].between(-1, 1).all()  # the tiny VLM always writes some text
    oracle = frame[frame["codec"] == "tiny-prompt"]
    assert oracle["oracle"].all()
    assert (oracle["semantic_object_recall"] == 1).all() and (oracle["semantic_object_precision"] == 1).all()
    assert (oracle["semantic_description_similarity"] > 0.8).all()  # the prompt, cut to 50 words and 77 tokens


def test_summary_reports_fidelity_and_marks_the_oracle(compressed):
    build, output = compressed
    summary = pd.read_csv(build / "benchmark" / "summary.csv").set_index("codec")
    for column in COLUMNS:
        assert f"{column}_mean" in summary.columns and f"{column}_ci95" in summary.columns
    assert summary.loc["tiny-prompt", "semantic_object_recall_mean"] == 1.0
    assert summary.loc["tiny-prompt", "oracle"] and not summary.loc["misc-tiny", "oracle"]
    text = (build / "benchmark" / "summary.md").read_text()
    assert "| tiny-prompt (oracle) | 0.5 |" in text and "object recall ↑" in text
    assert "tiny-prompt (oracle)" in output


def test_the_oracle_is_marked_in_every_table_plot_page_sample_and_config(compressed):
    import json

    import matplotlib.pyplot as plt
    import yaml

    from aigi_scd.bench.plots import rd_figure
    from aigi_scd.dataset.shards import iter_samples

    build, _ = compressed
    folders = sorted(p.name for p in (build / "compressed").iterdir())
    assert folders == ["misc-offline-0.5", "misc-tiny-0.5", "tiny-prompt-oracle-0.5"]
    configs = {c["config_name"] for c in yaml.safe_load((build / "README.md").read_text().split("---")[1])["configs"]}
    assert "tiny-prompt-oracle-0.5" in configs
    records = {
        folder: [
            json.loads(s["json"]) for tar in (build / "compressed" / folder).glob("*.tar") for s in iter_samples(tar)
        ]
        for folder in folders
    }
    assert all(r["oracle"] is True for r in records["tiny-prompt-oracle-0.5"]) and records["tiny-prompt-oracle-0.5"]
    assert all(r["oracle"] is False for r in records["misc-tiny-0.5"] + records["misc-offline-0.5"])
    bd = pd.read_csv(build / "benchmark" / "bd_rate.csv")
    assert set(bd.loc[bd["codec"] == "tiny-prompt", "oracle"]) == {True}
    assert set(bd.loc[bd["codec"] != "tiny-prompt", "oracle"]) == {False}
    summary = pd.read_csv(build / "benchmark" / "summary.csv")
    fig = rd_figure(summary, "psnr", ["misc-tiny", "tiny-prompt", "misc-offline"])
    try:
        legend = {t.get_text() for t in fig.axes[0].get_legend().get_texts()}
    finally:
        plt.close(fig)
    assert legend == {"misc-tiny", "tiny-prompt (oracle)", "misc-offline"}
    html = (build / "benchmark" / "report.html").read_text()
    assert (
        '<div class="rowhead">tiny-prompt (oracle)</div>' in html and ">tiny-prompt (oracle) @ 0.5 bpp</option>" in html
    )
    assert '<div class="rowhead">misc-tiny</div>' in html


def test_cmc_metrics_fail_offline_with_one_line_naming_their_weights(compressed, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # as on a machine without a network
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    build, _ = compressed
    result = run_cli("compress", build, "--codecs", "misc-offline", "--bpp", "0.5", "--metrics", "cmc", check=False)
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert result.exit_code == 1 and len(errors) == 1 and "Traceback" not in result.output
    assert "metric 'topiq_fr'" in errors[0] and "resnet50" in errors[0] and "cfanet_fr_kadid_res50" in errors[0]
    assert "--metrics offline" in errors[0]


def test_an_oracle_codec_is_not_run_on_images_without_a_prompt(compressed, tmp_path):
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (64, 48), (90, 120, 150)).save(folder / "flat.png")
    oracle = tmp_path / "tiny-prompt.yaml"
    oracle.write_text(ORACLE)
    out = tmp_path / "out"
    args = ["compress", "--images", folder, "--out", out, "--codecs", f"{oracle},thumb-avif", "--bpp", "0.5"]
    output = run_cli(*args, "--metrics", "psnr", "--quiet").output
    frame = pd.read_parquet(out / "benchmark" / "results.parquet")
    assert set(frame["codec"]) == {"thumb-avif"}
    assert "tiny-prompt read the generation prompt, which photos do not have: not run there" in output
