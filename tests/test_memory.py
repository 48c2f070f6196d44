"""Memory: the estimate from configs matches what loading takes, a model that cannot fit stops in one line
naming the options that would, and memory options reach every sample (issue 10, acceptance 3)."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import run_cli

from aigi_scd.dataset.shards import iter_samples
from aigi_scd.errors import ConfigError
from aigi_scd.pipelines.card import card_paths, load_card
from aigi_scd.pipelines.loading import load_pipeline
from aigi_scd.weights.memory import GIB, MemoryEstimate, fit_problem

TINY = sorted(name for name in card_paths() if name.startswith("tiny-"))


def loaded_bytes(pipe) -> tuple[int, int]:
    """(parameter bytes, parameter and buffer bytes) of every model component of a loaded pipeline."""
    modules = [c for c in pipe.components.values() if isinstance(c, torch.nn.Module)]
    params = sum(p.numel() * p.element_size() for m in modules for p in m.parameters())
    buffers = sum(b.numel() * b.element_size() for m in modules for b in m.buffers())
    return params, params + buffers


@pytest.mark.parametrize("name", TINY)
def test_estimate_is_within_15_percent_of_the_loaded_parameter_bytes(name):
    loaded = load_pipeline(load_card(name), "cpu", torch.float32)
    params, with_buffers = loaded_bytes(loaded.pipe)
    estimate = loaded.estimate.total
    assert abs(estimate - params) <= 0.15 * params, (estimate, params)
    assert abs(estimate - with_buffers) <= 0.01 * with_buffers
    modules = {k for k, v in loaded.pipe.components.items() if isinstance(v, torch.nn.Module)}
    assert set(loaded.estimate.components) == modules


@pytest.mark.parametrize("name", ["tiny-sd3-medium", "tiny-kandinsky3"])
def test_half_precision_estimate_counts_the_modules_kept_in_float32(name):
    """transformers keeps T5's `wo` layers in float32 when the rest loads in float16."""
    loaded = load_pipeline(load_card(name), "cpu", torch.float16)
    params, with_buffers = loaded_bytes(loaded.pipe)
    kept = [p for c in loaded.pipe.components.values() if isinstance(c, torch.nn.Module) for p in c.parameters()]
    assert any(p.dtype == torch.float32 for p in kept) and any(p.dtype == torch.float16 for p in kept)
    assert abs(loaded.estimate.total - with_buffers) <= 0.01 * with_buffers
    assert abs(loaded.estimate.total - params) <= 0.15 * params


FLUX_LIKE = MemoryEstimate(
    dtype="bfloat16",
    components={"transformer": int(22.2 * GIB), "text_encoder_2": int(8.9 * GIB), "vae": int(0.2 * GIB)},
)


def test_a_model_that_cannot_fit_names_the_offload_options_that_would():
    message = fit_problem("flux-schnell", FLUX_LIKE, "cuda:0", "none", device_free=int(23.5 * GIB), ram_free=64 * GIB)
    assert message and "\n" not in message
    assert "flux-schnell needs about 31.3 GiB for its weights in bfloat16" in message
    assert "transformer 22.2 GiB" in message and "cuda:0 has 23.5 GiB free" in message
    assert "--offload model (22.2 GiB on cuda:0 at a time: transformer)" in message
    assert "--offload sequential" in message
    # a smaller GPU: only sequential offload fits
    small = fit_problem("flux-schnell", FLUX_LIKE, "cuda:0", "none", device_free=12 * GIB, ram_free=64 * GIB)
    assert "--offload model" not in small and "--offload sequential" in small
    # and when it fits, nothing is said
    assert fit_problem("flux-schnell", FLUX_LIKE, "cuda:0", "none", 80 * GIB, 64 * GIB) is None
    assert fit_problem("flux-schnell", FLUX_LIKE, "cuda:0", "model", 23.5 * GIB, 64 * GIB) is None


def test_without_enough_ram_no_offload_helps():
    message = fit_problem("flux-schnell", FLUX_LIKE, "cuda:0", "none", device_free=16 * GIB, ram_free=16 * GIB)
    assert "neither --offload model nor --offload sequential fits" in message
    on_cpu = fit_problem("flux-schnell", FLUX_LIKE, "cpu", "none", device_free=None, ram_free=16 * GIB)
    assert "16.0 GiB of RAM available" in on_cpu


def test_memory_options_are_applied_and_recorded_per_sample(tmp_path):
    out = tmp_path / "memory"
    run_cli(
        "build", "--models", "tiny-sd15", "--num-prompts", 1, "--seed", 0, "--out", out, "--quiet",
        "--vae-tiling", "--vae-slicing", "--offload", "model",
    )  # fmt: skip
    (sample,) = [json.loads(s["json"]) for s in iter_samples(out / "data" / "tiny-sd15" / "train-00000.tar")]
    generation = sample["generation"]
    # offload moves weights between RAM and a GPU: on cpu there is nothing to move, and the json says so
    assert (generation["offload"], generation["vae_tiling"], generation["vae_slicing"]) == ("none", True, True)
    stats = json.loads((out / "data" / "tiny-sd15" / "00000.stats.json").read_text())
    assert (stats["offload"], stats["vae_tiling"], stats["vae_slicing"]) == ("none", True, True)
    assert "--vae-tiling" not in json.loads((out / "build.json").read_text())["command"]  # how to run, not what


def test_vae_tiling_on_a_decoder_without_it_is_one_line():
    from aigi_scd.pipelines.card import MemoryOptions

    with pytest.raises(ConfigError, match="VAE tiling is not available for its decoder \\(movq: VQModel\\)"):
        load_pipeline(load_card("tiny-kandinsky3"), "cpu", torch.float32, memory=MemoryOptions(vae_tiling=True))


def test_running_out_of_memory_mid_build_is_one_line_with_what_to_try():
    from aigi_scd.pipelines.runner import out_of_memory_message

    loaded = load_pipeline(load_card("tiny-sdxl"), "cpu", torch.float32)
    error = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 23.6 GiB total)")
    message = out_of_memory_message(loaded, 4, error)
    assert "\n" not in message and message.startswith("tiny-sdxl ran out of memory on cpu generating 4 image(s)")
    assert "Tried to allocate 2.00 GiB" in message
    for option in ("--batch-size 1", "--vae-slicing", "--vae-tiling", "--offload model", "--offload sequential"):
        assert option in message
