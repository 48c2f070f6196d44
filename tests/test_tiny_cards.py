"""Every family with a real card has a tiny offline card that cannot drift from it (issue 10, acceptance 1-2).

The tiny card of `X` is `tiny-X`; it differs from `X` only where a tiny model must (repo, size, steps) and in
what describes the weights (description, revision, homepage, licence). One build of every tiny card, run
once per session exactly as acceptance 1 states it, proves each loads through the product's loader, runs
its pipeline with the real scheduler and writes a dataset `datasets` loads.
"""

from __future__ import annotations

import dataclasses
import json

import datasets
import pytest
from conftest import run_cli

from aigi_scd.pipelines.card import card_paths, load_card

REAL_CARDS = sorted(name for name in card_paths() if not name.startswith("tiny-"))
TINY_CARDS = [f"tiny-{name}" for name in REAL_CARDS]
# What may differ between a real card and its tiny copy.
MAY_DIFFER = {"name", "description", "repo", "revision", "homepage", "license", "source"}
CALL_MAY_DIFFER = {"steps", "width", "height"}

# The scheduler each real repository runs (its scheduler_config.json, after the card's override), by the
# values that shape the schedule. Sources: the repos' scheduler/scheduler_config.json on the hub (SD 1.5
# PNDM; SD 2.1 DDIM with v_prediction; SDXL and SSD-1B Euler, leading spacing; Playground v2.5 EDM
# DPM-Solver, commit 39197a3; PixArt-Σ DPM-Solver++; SD3 flow matching with shift 3; FLUX.1-schnell
# without dynamic shifting; Kandinsky 3 DDPM, squared-cosine betas).
SCHEDULERS = {
    "sd15": ("PNDMScheduler", {"beta_schedule": "scaled_linear", "skip_prk_steps": True, "steps_offset": 1}),
    "sd21": ("DPMSolverMultistepScheduler", {"prediction_type": "v_prediction", "beta_schedule": "scaled_linear"}),
    "sdxl": ("EulerDiscreteScheduler", {"timestep_spacing": "leading", "beta_schedule": "scaled_linear"}),
    "ssd-1b": ("EulerDiscreteScheduler", {"timestep_spacing": "leading", "beta_schedule": "scaled_linear"}),
    "playground-v25": (
        "EDMDPMSolverMultistepScheduler",
        {"sigma_data": 0.5, "sigma_max": 80.0, "sigma_min": 0.002, "final_sigmas_type": "zero"},
    ),
    "pixart": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "beta_schedule": "linear"}),
    "sd3-medium": ("FlowMatchEulerDiscreteScheduler", {"shift": 3.0}),
    "flux-schnell": ("FlowMatchEulerDiscreteScheduler", {"shift": 1.0, "use_dynamic_shifting": False}),
    "kandinsky3": ("DDPMScheduler", {"beta_schedule": "squaredcos_cap_v2", "clip_sample": True, "steps_offset": 1}),
}


def test_every_family_has_a_tiny_card_and_a_known_scheduler():
    assert set(REAL_CARDS) == set(SCHEDULERS)
    assert {name for name in card_paths() if name.startswith("tiny-")} == set(TINY_CARDS)


@pytest.mark.parametrize("name", REAL_CARDS)
def test_tiny_card_agrees_with_its_real_card_field_by_field(name):
    real, tiny = load_card(name), load_card(f"tiny-{name}")
    assert tiny.is_tiny and not real.is_tiny
    for field in dataclasses.fields(real):
        if field.name in MAY_DIFFER:
            continue
        if field.name == "call":
            for call_field in dataclasses.fields(real.call):
                if call_field.name not in CALL_MAY_DIFFER:
                    assert getattr(tiny.call, call_field.name) == getattr(real.call, call_field.name), (
                        f"tiny-{name}: call.{call_field.name} differs from {name}"
                    )
            continue
        assert getattr(tiny, field.name) == getattr(real, field.name), f"tiny-{name}: {field.name} differs from {name}"


@pytest.fixture(scope="module")
def every_tiny_build(tmp_path_factory):
    """Acceptance 1: `aigi-scd build --models <every tiny card> --num-prompts 2 --seed 0 --out DIR`."""
    out = tmp_path_factory.mktemp("every-tiny") / "out"
    run_cli("build", "--models", ",".join(TINY_CARDS), "--num-prompts", 2, "--seed", 0, "--out", out, "--quiet")
    return out


@pytest.mark.parametrize("name", REAL_CARDS)
def test_each_tiny_model_loads_with_datasets_and_runs_the_real_scheduler(every_tiny_build, name):
    tiny = load_card(f"tiny-{name}")
    ds = datasets.load_dataset(str(every_tiny_build), tiny.name, split="train")
    assert ds.num_rows == 2
    scheduler_class, expected = SCHEDULERS[name]
    for row in ds:
        meta = row["json"]
        assert row["png"].size == (tiny.call.width, tiny.call.height)
        assert meta["card"]["pipeline_class"] == load_card(name).pipeline
        assert meta["card"]["scheduler_class"] == scheduler_class
        config = json.loads(meta["card"]["scheduler_config"])
        assert {key: config[key] for key in expected} == expected
        encoders = meta["generation"]["text_encoders"]
        assert encoders and all(e["tokens"] > 2 and e["truncated"] is False for e in encoders)
        assert meta["generation"]["offload"] == "none" and meta["generation"]["dtype"] == "float32"
