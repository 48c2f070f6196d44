"""Filter presets load strictly: every mistake is named with its file, entry and the fix."""

from __future__ import annotations

import pytest
from conftest import run_cli

from aigi_scd.errors import ConfigError
from aigi_scd.filters.preset import default_preset_name, filter_preset_paths, load_filter_preset
from aigi_scd.pipelines.card import load_cards


def write(tmp_path, body: str):
    path = tmp_path / "p.yaml"
    path.write_text(body)
    return str(path)


def test_registry_presets_load_and_the_offline_one_needs_no_weights():
    assert {"default", "offline"} <= set(filter_preset_paths())
    offline = load_filter_preset("offline")
    offline.prepare("cpu")  # would raise without network if it needed weights
    assert offline.names[0] == "decodable" and offline.names[-1] == "dedup"
    assert {f.metric for f in offline.filters if f.kind == "iqa"} == {"piqe"}
    learned = load_filter_preset("default")
    assert {"topiq_nr", "laion_aes", "clipscore"} <= set(learned.names)


def test_the_default_preset_depends_on_whether_models_are_real():
    assert default_preset_name(load_cards("tiny-sdxl,tiny-pixart")) == "offline"
    assert default_preset_name(load_cards("sdxl")) == "default"
    assert default_preset_name(load_cards("tiny-sdxl,sdxl")) == "default"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("filters:\n  - type: decodable\n  - type: sharpnes\n", "unknown type 'sharpnes' (did you mean 'sharpness'?)"),
        ("filters:\n  - type: decodable\n  - {type: sharpness, min_var: 3}\n", "unknown key 'min_var'"),
        ("filters:\n  - type: decodable\n  - {type: sharpness, min_laplacian_var: high}\n", "expected a number"),
        ("filters:\n  - type: sharpness\n", "filters[0] must be `type: decodable`"),
        ("filters: []\n", "the list is empty"),
        ("filter:\n  - type: decodable\n", "unknown key 'filter' (did you mean 'filters'?)"),
        ("filters:\n  - type: decodable\n  - type: dedup\n  - type: sharpness\n", "must come before 'dedup'"),
        ("filters:\n  - type: decodable\n  - {type: best_of_n, by: piqe}\n", "by: 'piqe' is not a filter"),
        ("filters:\n  - type: decodable\n  - type: sharpness\n  - type: sharpness\n", "two filters are named"),
        ("filters:\n  - type: decodable\n  - {type: clipscore, threshold: 3}\n", "outside the score range"),
    ],
)
def test_preset_mistakes_are_refused_with_file_and_fix(tmp_path, body, words):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_filter_preset(path)
    assert words in str(info.value) and path in str(info.value)


def test_unknown_preset_name_suggests_the_closest(tmp_path):
    with pytest.raises(ConfigError, match="unknown filter preset 'ofline' \\(did you mean 'offline'\\?\\)"):
        load_filter_preset("ofline")


def test_a_preset_can_name_two_filters_of_one_type(tmp_path):
    chain = load_filter_preset(
        write(
            tmp_path,
            "filters:\n  - type: decodable\n  - {type: iqa, metric: piqe, threshold: 50, name: piqe_strict}\n"
            "  - {type: iqa, metric: piqe, name: piqe_score}\n",
        )
    )
    assert chain.names == ["decodable", "piqe_strict", "piqe_score"]
    assert chain.identity()["steps"][2] == {"type": "iqa", "metric": "piqe", "threshold": None, "name": "piqe_score"}


def test_cli_lists_presets_and_build_refuses_a_changed_preset(tmp_path):
    listing = run_cli("list", "filters").output
    assert "offline:" in listing and "default:" in listing and "decodable → min_size" in listing
    out = tmp_path / "out"
    args = ["build", "--models", "tiny-sdxl", "--num-prompts", 1, "--out", out, "--quiet"]
    run_cli(*args)
    strict = write(tmp_path, "filters:\n  - type: decodable\n  - {type: iqa, metric: piqe, threshold: 1}\n")
    refused = run_cli(*args, "--filters", strict, check=False)
    assert refused.exit_code != 0
    assert "filters: was preset 'offline', now 'p'" in refused.output
    assert f"aigi-scd filter {out} --preset {strict}" in refused.output
    seed = run_cli(*args, "--filters", strict, "--seed", 1, check=False)  # more than the preset differs
    assert "seed: was 0, now 1" in seed.output and "aigi-scd filter" not in seed.output
