"""MISC's model-backed layers end to end with tiny offline models: tiny Qwen2.5-VL (vlm semantics),
tiny CLIPSeg (region maps), tiny SDXL (diffusion decoder) — the same loading code as the real models."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_subprocess
from PIL import Image

from aigi_scd.codec import decode_file, get_codec
from aigi_scd.codec.misc.bitstream import parse

NO_HUB = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0", "HF_HUB_ETAG_TIMEOUT": "2"}


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    rng = np.random.default_rng(3)
    base = np.linspace(0, 255, 96)[None, :, None] * np.ones((64, 96, 3))
    return Image.fromarray(np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8))


def test_misc_tiny_runs_vlm_and_diffusion(photo):
    codec = get_codec("misc-tiny")
    encoded = codec.encode_report(photo, 0.5)
    assert len(encoded.data) <= 0.5 * 96 * 64 / 8
    sections = parse(encoded.data).sections
    assert {"semantic", "pixel", "decoder"} <= set(sections)
    assert encoded.info["notes"][0].startswith("vlm answer:")  # the raw answer is recorded
    first, _ = decode_file(encoded.data)
    second, _ = decode_file(encoded.data)
    assert first.size == photo.size and np.array_equal(np.asarray(first), np.asarray(second))


def test_clipseg_maps_and_region_passes(photo, tmp_path):
    preset = tmp_path / "misc-maps.yaml"
    preset.write_text(
        "name: misc-maps\nkind: misc\nid: 200\n"
        "semantic: {backend: prompt}\n"
        "maps: {backend: clipseg, model: 'tiny:clipseg', grid: 8, threshold: 0.0}\n"
        "pixel: {speed: 8, search_speed: 8}\n"
        "decoder: {backend: diffusion, model: 'tiny:sdxl', steps: 4, seed: 7}\n"
    )
    codec = get_codec(str(preset))
    prompt = {
        "text": "a gradient",
        "objects": [{"name": "left side", "detail": "dark"}, {"name": "right side", "detail": "bright"}],
    }
    encoded = codec.encode_report(photo, 0.6, prompt=prompt)
    assert encoded.info["maps"] == 2 and encoded.info["layers"]["maps"] > 2
    decoded = codec.decode(encoded.data)
    assert decoded.size == photo.size
    assert np.array_equal(np.asarray(decoded), np.asarray(codec.decode(encoded.data)))


def test_text_only_file_is_painted_by_the_diffusion_decoder(tmp_path):
    from aigi_scd.codec.misc.bitstream import MiscFile
    from aigi_scd.codec.misc.codec import DecoderSettings
    from aigi_scd.codec.misc.textcode import encode_text

    data = MiscFile(
        3, 80, 48, {"semantic": encode_text("a red boat"), "decoder": DecoderSettings(1, 2).to_bytes()}
    ).to_bytes()
    image, codec = decode_file(data)
    assert codec.name == "misc-tiny" and image.size == (80, 48)


def test_misc_without_weights_fails_with_one_line(tmp_path):
    src = tmp_path / "in.png"
    Image.new("RGB", (64, 48), (100, 120, 140)).save(src)
    result = run_subprocess(
        "encode", src, "-o", tmp_path / "x.misc", "--codec", "misc", "--bpp", "0.5", env=NO_HUB, timeout=300
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Qwen/Qwen2.5-VL-7B-Instruct" in lines[0] and "misc-offline" in lines[0]
    assert not (tmp_path / "x.misc").exists()


def test_object_names_longer_than_the_text_encoder_are_truncated(photo):
    """A VLM can return a 'name' of garbage far beyond CLIPSeg's 77 tokens; the map is still made."""
    from aigi_scd.codec.misc.semantics import SemanticObject, Semantics

    regions = get_codec("misc-tiny").regions
    maps = regions.maps(photo, Semantics("x", [SemanticObject("stripe" * 100), SemanticObject("door")]))
    assert [m.shape for m in maps] == [(8, 8), (8, 8)]


def test_the_tiny_vlm_reads_the_prompt_qwen25_vl_reads(photo):
    """The tiny model carries Qwen2.5-VL's published chat template: the prompt rendered for it is the real one."""
    from aigi_scd.codec.misc.tiny_models import QWEN25_VL_CHAT_TEMPLATE
    from aigi_scd.codec.misc.vlm import INSTRUCTION

    processor, _, _ = get_codec("misc-tiny").semantic.loaded()
    assert processor.chat_template == QWEN25_VL_CHAT_TEMPLATE
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": INSTRUCTION}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        f"<|vision_start|><|image_pad|><|vision_end|>{INSTRUCTION}<|im_end|>\n<|im_start|>assistant\n"
    )
    inputs = processor(text=[text], images=[photo], return_tensors="pt")
    frames, rows, cols = (int(v) for v in inputs["image_grid_thw"][0])
    pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert int((inputs["input_ids"][0] == pad).sum()) == frames * rows * cols // 4  # one token per 2×2 patches


def test_the_vlm_sees_at_most_max_pixels():
    from aigi_scd.codec.misc.vlm import VlmSemantics, cap_pixels
    from aigi_scd.codec.presets import SemanticConfig

    big = Image.new("RGB", (4000, 3000), (80, 90, 100))
    capped = cap_pixels(big, 1280 * 28 * 28)
    assert capped.size[0] * capped.size[1] <= 1280 * 28 * 28 and abs(capped.size[0] / capped.size[1] - 4 / 3) < 0.01
    assert cap_pixels(photo_small := Image.new("RGB", (96, 64)), 1280 * 28 * 28) is photo_small

    config = SemanticConfig(backend="vlm", model="tiny:qwen2.5-vl", max_new_tokens=4, max_pixels=28 * 28 * 4)
    _, frame = VlmSemantics(config.model, config).answer(Image.new("RGB", (1200, 800), (10, 200, 30)))
    assert frame[0] * frame[1] <= 28 * 28 * 4  # the tiny processor alone would allow 16 patches of 28²
