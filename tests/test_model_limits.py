"""What real weights would hit first, proven offline (issue 10, acceptance 2): sizes a family cannot make,
prompts a text encoder cuts, and a precision the device lacks, each reported in one line or in the json."""

from __future__ import annotations

import pytest
import torch
from conftest import run_cli

from aigi_scd.errors import ConfigError, DeviceError
from aigi_scd.pipelines.card import load_card
from aigi_scd.pipelines.loading import load_pipeline
from aigi_scd.prompts.spec import PromptSource, PromptSpec
from aigi_scd.prompts.tokens import count_tokens, token_report
from aigi_scd.weights.device import pick_dtype


def card_file(tmp_path, pipeline: str, width: int, height: int, extra: str = "") -> str:
    path = tmp_path / "card.yaml"
    path.write_text(
        f"name: mine\nrepo: tiny:sd3\npipeline: {pipeline}\n"
        f"call: {{steps: 2, guidance: 7.0, width: {width}, height: {height}{extra}}}\n"
    )
    return str(path)


def test_a_1000px_sd3_card_is_refused_at_load_with_one_line(tmp_path):
    path = card_file(tmp_path, "StableDiffusion3Pipeline", 1000, 1000)
    result = run_cli("build", "--models", path, "--out", tmp_path / "o", check=False)
    assert result.exit_code != 0 and "Traceback" not in result.output
    line = result.output.strip().splitlines()[-1]
    assert path in line and "call.width: 1000 is not a multiple of 16" in line and "use 992 or 1008" in line
    assert not (tmp_path / "o").exists()  # refused before any work


@pytest.mark.parametrize(
    ("pipeline", "size", "expected"),
    [
        ("FluxPipeline", 1000, "not a multiple of 16"),  # Flux would silently resize
        ("Kandinsky3Pipeline", 1000, "not a multiple of 64"),  # Kandinsky 3 would silently round up
        ("StableDiffusionXLPipeline", 1000, None),  # SDXL makes any multiple of 8
    ],
)
def test_each_family_knows_its_size_multiple(tmp_path, pipeline, size, expected):
    if expected is None:
        card_file(tmp_path, pipeline, size, size)
        from aigi_scd.pipelines.card import load_card_file

        assert load_card_file(tmp_path / "card.yaml").call.width == size
        return
    with pytest.raises(ConfigError, match=expected):
        from aigi_scd.pipelines.card import load_card_file

        load_card_file(card_file(tmp_path, pipeline, size, size))


def test_kandinsky3_cards_cannot_pass_max_sequence_length(tmp_path):
    from aigi_scd.pipelines.card import load_card_file

    path = card_file(tmp_path, "Kandinsky3Pipeline", 1024, 1024, ", extra: {max_sequence_length: 256}")
    with pytest.raises(ConfigError, match="takes no max_sequence_length .*T5 128"):
        load_card_file(path)


def test_an_argument_the_pipeline_does_not_take_is_refused_before_loading(tmp_path):
    path = card_file(tmp_path, "StableDiffusion3Pipeline", 128, 128, ", extra: {clean_caption: true}")
    with pytest.raises(ConfigError, match="call.extra: 'clean_caption' is not an argument of StableDiffusion3Pipeline"):
        from aigi_scd.pipelines.card import load_card_file

        load_pipeline(load_card_file(path), "cpu", torch.float32)


def prompt_of(tokenizer, tokens: int) -> PromptSpec:
    """A prompt that `tokenizer` turns into exactly `tokens` ids (start and end included)."""
    words = tokens - 2
    words += tokens - count_tokens(tokenizer, " ".join(["red"] * words))  # T5 adds an end token only
    text = " ".join(["red"] * words)
    assert count_tokens(tokenizer, text) == tokens
    return PromptSpec(text=text, source=PromptSource("test"))


@pytest.mark.parametrize("name", ["tiny-sd3-medium", "tiny-flux-schnell"])
def test_a_78_token_prompt_is_reported_truncated_by_clip_in_sd3_and_flux(name):
    loaded = load_pipeline(load_card(name), "cpu", torch.float32)
    clip = loaded.pipe.tokenizer
    fits, cut = prompt_of(clip, 77), prompt_of(clip, 78)
    report = token_report(loaded, [fits, cut])
    assert report.truncated(fits.id) is False and report.truncated(cut.id) is True
    encoders = {e["name"]: e for e in report.per_encoder(cut.id)}
    clips = [n for n in encoders if n.startswith("CLIP")]
    assert clips and all(encoders[n] == {"name": n, "tokens": 78, "max_tokens": 77, "truncated": True} for n in clips)
    assert encoders["T5"]["max_tokens"] == 256 and encoders["T5"]["truncated"] is False  # T5 reads it whole
    (warning,) = report.warnings([fits, cut])
    assert f"{name} reads at most 77 prompt tokens with CLIP" in warning and "1 of 2 prompts" in warning


def test_kandinsky3_reports_prompts_over_128_tokens_truncated():
    loaded = load_pipeline(load_card("tiny-kandinsky3"), "cpu", torch.float32)
    fits, cut = prompt_of(loaded.pipe.tokenizer, 128), prompt_of(loaded.pipe.tokenizer, 129)
    report = token_report(loaded, [fits, cut])
    assert report.per_encoder(cut.id) == [{"name": "T5", "tokens": 129, "max_tokens": 128, "truncated": True}]
    assert report.truncated(fits.id) is False and report.limit == 128  # not the tokenizer's own 512


def test_a_bf16_only_card_stops_on_a_device_without_bf16():
    flux = load_card("flux-schnell")
    assert flux.dtype == "bfloat16" and flux.dtype_fallback is False
    with pytest.raises(DeviceError) as info:
        pick_dtype(flux.dtype, "cuda", fallback=flux.dtype_fallback, model=flux.name, bf16_supported=False)
    message = str(info.value)
    assert "\n" not in message
    assert "flux-schnell must not run in float16" in message and "--dtype float32" in message
    # with bf16, or for a card that allows it, nothing stops
    assert pick_dtype(flux.dtype, "cuda", fallback=False, bf16_supported=True) == torch.bfloat16
    assert pick_dtype("bfloat16", "cuda", fallback=True, bf16_supported=False) == torch.float16


def test_asking_float16_for_a_bf16_only_card_stops_with_one_line(tmp_path):
    result = run_cli(
        "build", "--models", "tiny-flux-schnell", "--dtype", "float16", "--device", "cpu", "--out", tmp_path / "o",
        check=False,
    )  # fmt: skip
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "--dtype float16: tiny-flux-schnell must not run in float16" in result.output
    assert not (tmp_path / "o").exists()
