"""MISC's diffusion decoder and what the encoder sends it (issue 15): region passes composited through soft masks,
prompts fitted to the text encoders, text-only files, the same SDXL weights as the sdxl card — tiny SDXL, offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from aigi_scd.codec import TargetUnreachableError, get_codec, load_codec_preset
from aigi_scd.codec.image import budget_bytes
from aigi_scd.codec.misc.bitstream import MiscFile, parse
from aigi_scd.codec.misc.diffusion_decoder import soft_mask
from aigi_scd.codec.misc.prompt_fit import fit_text, token_count
from aigi_scd.codec.misc.semantics import Semantics
from aigi_scd.codec.misc.textcode import decode_text
from aigi_scd.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def oracle_tiny(tmp_path: Path) -> Path:
    """misc-tiny's decoder with the prompt as semantic layer and no maps (no VLM: fast and deterministic)."""
    path = tmp_path / "misc-oracle-tiny.yaml"
    path.write_text(
        "name: misc-oracle-tiny\nkind: misc\nid: 201\n"
        "semantic: {backend: prompt}\nmaps: {backend: none}\npixel: {speed: 8, search_speed: 10}\n"
        "decoder: {backend: diffusion, model: 'tiny:sdxl', steps: 2, region_steps: 2, seed: 3}\n"
    )
    return path


@pytest.fixture(scope="module")
def canvas() -> Image.Image:
    rng = np.random.default_rng(5)
    base = np.linspace(30, 220, 96)[None, :, None] * np.ones((64, 96, 3))
    return Image.fromarray(np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8))


def test_soft_mask_is_zero_outside_the_cells_and_ramps_inside():
    grid = np.zeros((8, 8), bool)
    grid[2:6, 1:4] = True
    mask = soft_mask(grid, (96, 64), feather=0.5)  # cells are 12×8 pixels: a 4-pixel ramp
    hard = np.zeros((64, 96), bool)
    hard[16:48, 12:48] = True
    assert mask.shape == (64, 96) and mask.dtype == np.float32
    assert np.all(mask[~hard] == 0) and np.all(mask[hard] > 0)
    assert mask[32, 30] == 1.0 and 0 < mask[16, 30] < 1  # deep inside: 1; on the edge: part of the ramp
    assert np.array_equal(soft_mask(grid, (96, 64), feather=0) > 0, hard)


def test_a_region_pass_leaves_every_pixel_outside_its_mask_unchanged(canvas):
    decoder = get_codec("misc-tiny").decoder
    grid = np.zeros((8, 8), bool)
    grid[1:5, 2:6] = True
    out = decoder.region_pass(canvas, grid, "a red door, wooden", seed=1)
    mask = soft_mask(grid, canvas.size, decoder.config.feather)
    before, after = np.asarray(canvas), np.asarray(out)
    assert out.size == canvas.size
    assert np.array_equal(after[mask == 0], before[mask == 0])  # the canvas's own bytes: no VAE round trip
    assert not np.array_equal(after[mask == 1], before[mask == 1])  # the region was repainted
    assert np.array_equal(after, np.asarray(decoder.region_pass(canvas, grid, "a red door, wooden", seed=1)))
    assert decoder.region_pass(canvas, np.zeros((8, 8), bool), "nothing", seed=1) is canvas  # an empty map: no pass


def description_of_tokens(tokenizers, count: int) -> str:
    """Words of a scene until the decoder's tokenizers count exactly `count` tokens (BOS and EOS included); long
    rare words split into several tokens, as they do in CLIP's vocabulary."""
    words = []
    vocabulary = [
        *("bioluminescent", "jellyfish", "drift", "past", "weatherbeaten", "cobblestoned", "piers", "under"),
        *("kaleidoscopic", "phosphorescent", "thunderclouds", "in", "chiaroscuro", "light,", "silhouetted"),
    ]
    i = 0
    while token_count(" ".join(words), tokenizers) < count - 3:
        words.append(vocabulary[i % len(vocabulary)])
        i += 1
    while token_count(" ".join(words), tokenizers) < count:
        words.append("a")  # one token each
    return " ".join(words)


def test_a_120_token_description_is_shortened_to_fit_and_recorded(tmp_path, canvas):
    codec = get_codec(str(oracle_tiny(tmp_path)))
    tokenizers = codec.decoder.tokenizers()
    text = description_of_tokens(tokenizers, 120)
    assert token_count(text, tokenizers) == 120 and len(text.split()) <= 50  # within MISC's 50 words
    encoded = codec.encode_report(canvas, 1.0, prompt={"text": text, "objects": [{"name": "lighthouse"}]})
    (cut,) = [c for c in encoded.info["prompt_fit"] if c["role"] == "description"]
    assert cut["original_tokens"] == 120 and cut["limit"] == 77 and cut["dropped_words"] > 0
    assert 70 <= cut["tokens"] <= 77
    sent = Semantics.deserialize(decode_text(parse(encoded.data).sections["semantic"]))
    assert token_count(sent.description, tokenizers) == cut["tokens"]
    assert text.startswith(sent.description)  # the longest prefix that fits, nothing invented
    assert [o.name for o in sent.objects] == ["lighthouse"]  # the prompt's objects travel with it
    assert any("120 tokens, cut to" in note for note in encoded.info["semantics"]["notes"])
    fit = fit_text(text, tokenizers)
    assert fit.text == sent.description and fit.original_tokens == 120


def test_a_generating_decoder_writes_a_text_only_file_the_old_encoder_called_unreachable(tmp_path, canvas):
    """The text fits but fills less than 90% of the budget and no pixel layer fits beside it: the old encoder
    shortened the text in vain, then reported the target unreachable; a decoder that paints from text needs
    no pixels."""
    codec = get_codec(str(oracle_tiny(tmp_path)))
    prompt = {"text": "a red boat", "objects": []}
    width, height = canvas.size
    text_only = MiscFile(201, width, height, codec._sections(Semantics("a red boat"), None)).to_bytes()
    search = codec.pixel_search(canvas)
    budget = len(text_only) + 4
    assert len(text_only) < 0.9 * budget
    smallest_pixel_file = len(MiscFile(201, width, height, codec._sections(Semantics(), None)).to_bytes())
    assert smallest_pixel_file + search.smallest_cost() > budget  # no pixel layer fits, even with no text
    target = 8 * budget / (width * height)
    encoded = codec.encode_report(canvas, target, prompt=prompt)
    assert budget_bytes(target, width, height) == budget
    assert encoded.data == text_only and "pixel" not in parse(encoded.data).sections
    assert codec.decode(encoded.data).size == canvas.size
    resize_only = get_codec("misc-offline")
    with pytest.raises(TargetUnreachableError) as caught:
        resize_only.encode_report(canvas, target)
    assert caught.value.min_bpp > target  # MISC rows carry the smallest bpp the codec reaches


def test_misc_offline_sends_no_semantic_bytes_even_with_a_prompt(canvas):
    prompt = {"text": "a red door in a stone wall", "objects": [{"name": "door", "detail": "red"}]}
    encoded = get_codec("misc-offline").encode_report(canvas, 0.5, prompt=prompt)
    assert set(parse(encoded.data).sections) == {"pixel"}
    assert encoded.data == get_codec("misc-offline").encode(canvas, 0.5)  # the same file with or without it


def test_a_resize_decoder_preset_cannot_send_layers_it_never_reads(tmp_path):
    for section, line in (("semantic", "semantic: {backend: prompt}"), ("maps", "maps: {backend: boxes}")):
        path = tmp_path / f"bad-{section}.yaml"
        path.write_text(f"name: bad-{section}\nkind: misc\nid: 202\n{line}\ndecoder: {{backend: resize}}\n")
        with pytest.raises(ConfigError, match=f"{section}.backend .* the resize decoder never reads"):
            load_codec_preset(str(path))


def test_misc_decodes_with_the_sdxl_cards_weights():
    decoder = load_codec_preset("misc").decoder
    oracle = load_codec_preset("misc-oracle").decoder
    card = yaml.safe_load((REPO / "pipelines" / "sdxl.yaml").read_text())
    for config in (decoder, oracle):
        assert (config.model, config.revision, config.variant) == (card["repo"], card["revision"], card["variant"])
    codec = get_codec("misc")
    assert codec.decoder._load_kwargs(card["repo"]) == {"revision": card["revision"], "variant": "fp16"}
    assert get_codec("misc-tiny").decoder._load_kwargs("/a/local/folder") == {}


def test_the_oracle_preset_is_marked_and_the_vlm_one_is_not():
    assert load_codec_preset("misc-oracle").oracle
    assert not load_codec_preset("misc").oracle and not load_codec_preset("misc-offline").oracle
